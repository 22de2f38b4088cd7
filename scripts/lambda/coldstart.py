#!/usr/bin/env python3
"""Init time of Lambda function binaries under scripts/lambda/emulator.py.

For each binary, starts the emulator with one sandbox of it, reads the
sandbox's init time from the emulator's log (process start to the binary's
first Runtime API `next` request: exec, loading, tracing and the cold-start
context from the environment), stops the emulator, and repeats; the runs of
the binaries alternate, so load on the machine hits them alike. Prints the
median and the range per binary.

With --zip, also times unpacking each zip's bootstrap (what Lambda does with a
zip package before the first start), median of the same number of runs.

usage:
  coldstart.py [--runs N] [--zip] [--env NAME=VALUE ...] NAME=BINARY_OR_ZIP ...

example (a binary against its stripped copy):
  strip -o /tmp/worker-stripped target/debug/lakeship-worker
  scripts/lambda/coldstart.py --runs 15 --env LAKESHIP_ENDPOINT=http://127.0.0.1:9 \\
      --env LAKESHIP_WORK=s3://lakeship-test-work/lakeship \\
      full=target/debug/lakeship-worker stripped=/tmp/worker-stripped
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

EMULATOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "emulator.py")
INIT = re.compile(r"\] init ([0-9.]+) ms")


def init_ms(binary, environment):
    """One cold start of `binary`: its init time in ms."""
    env = dict(os.environ)
    env.update(environment)
    emulator = subprocess.Popen(
        [sys.executable, EMULATOR, "--listen", "0", "--upstream", "http://127.0.0.1:9", "--function", f"f={binary}:1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    try:
        deadline = time.monotonic() + 60
        for line in emulator.stderr:
            found = INIT.search(line)
            if found:
                return float(found.group(1))
            if time.monotonic() > deadline:
                break
        raise SystemExit(f"{binary}: no init line from the emulator")
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)


def unzip_ms(archive):
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        with zipfile.ZipFile(archive) as z:
            z.extract("bootstrap", directory)
        return (time.perf_counter() - started) * 1000


def bootstrap_of(path, directory):
    if not path.endswith(".zip"):
        return path
    with zipfile.ZipFile(path) as z:
        z.extract("bootstrap", directory)
    target = os.path.join(directory, "bootstrap")
    os.chmod(target, 0o755)
    return target


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--zip", action="store_true", help="also time unpacking the zips")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="environment of the binaries (repeat)")
    parser.add_argument("targets", nargs="+", metavar="NAME=BINARY_OR_ZIP")
    options = parser.parse_args()
    for item in options.env + options.targets:
        if "=" not in item:
            parser.error(f"{item!r} is not NAME=VALUE")
    targets = [item.split("=", 1) for item in options.targets]
    environment = dict(item.split("=", 1) for item in options.env)
    with tempfile.TemporaryDirectory() as scratch:
        binaries = {name: bootstrap_of(path, os.path.join(scratch, name)) for name, path in targets}
        samples = {name: [] for name, _ in targets}
        for _ in range(options.runs):
            for name, _ in targets:
                samples[name].append(init_ms(binaries[name], environment))
        for name, path in targets:
            values = samples[name]
            size = os.path.getsize(binaries[name]) / 2**20
            line = f"{name:<12} {size:7.1f} MiB  init median {statistics.median(values):7.1f} ms  (min {min(values):.1f}, max {max(values):.1f}, {len(values)} runs)"
            if options.zip and path.endswith(".zip"):
                unpack = [unzip_ms(path) for _ in range(options.runs)]
                line += f"  unzip median {statistics.median(unpack):.1f} ms ({os.path.getsize(path) / 2**20:.1f} MiB zip)"
            print(line)


if __name__ == "__main__":
    main()
