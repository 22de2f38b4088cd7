#!/usr/bin/env python3
"""Where the time of `make test` goes.

  timing.py record FILE NAME START END STATUS   append one step (epoch seconds, floats)
  timing.py tests FILE                          copy stdin to stdout; time each test
                                                binary of `cargo test` (its "Running …"
                                                and "Doc-tests …" lines) into FILE
  timing.py report FILE                         print the table: every step with its
                                                start offset, duration and status
"""
import re
import sys
import time

RUNNING = re.compile(r"^\s*Running (?P<what>\S+.*?) \((?P<path>[^)]+)\)\s*$")
DOCTESTS = re.compile(r"^\s*Doc-tests (?P<crate>\S+)\s*$")
RESULT = re.compile(r"^test result: (?P<status>ok|FAILED)\. (?P<passed>\d+) passed; (?P<failed>\d+) failed; (?P<ignored>\d+) ignored")


def record(path, name, start, end, status):
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{name}\t{float(start):.3f}\t{float(end):.3f}\t{status}\n")


def binary_name(match):
    # target/debug/deps/statemachine-0123abcd -> statemachine (tests/statemachine.rs)
    base = match["path"].rsplit("/", 1)[-1]
    base = re.sub(r"-[0-9a-f]{16}$", "", base)
    return f"test {base} ({match['what']})"


def tests(path):
    current, started, status = None, None, "ok"

    def close():
        if current is not None:
            record(path, current, started, time.time(), status)

    for line in sys.stdin:
        sys.stdout.write(line)
        sys.stdout.flush()
        running, doctests = RUNNING.match(line), DOCTESTS.match(line)
        if running or doctests:
            close()
            current = binary_name(running) if running else f"test doc-tests {doctests['crate']}"
            started, status = time.time(), "ok"
            continue
        result = RESULT.match(line)
        if result and current is not None:
            status = "ok" if result["status"] == "ok" else f"FAILED ({result['failed']})"
            status += f" {result['passed']} passed"
    if current is not None and status == "ok":
        status = "no result (crashed?)"
    close()


def report(path):
    try:
        rows = [line.rstrip("\n").split("\t") for line in open(path, encoding="utf-8") if line.strip()]
    except FileNotFoundError:
        return
    if not rows:
        return
    rows = [(name, float(start), float(end), status) for name, start, end, status in rows]
    origin = min(start for _, start, _, _ in rows)
    finish = max(end for _, _, end, _ in rows)
    fmt = lambda seconds: f"{int(seconds // 60)}m{seconds % 60:04.1f}s"
    width = max(len(name) for name, *_ in rows)
    print()
    print("Where the time went (start is the offset from the first step; steps marked & ran alongside others):")
    print(f"  {'step':<{width}}  {'start':>8}  {'took':>9}  status")
    rows.sort(key=lambda row: row[1])
    for name, start, end, status in rows:
        print(f"  {name:<{width}}  {fmt(start - origin):>8}  {fmt(end - start):>9}  {status}")
    print(f"  {'total (wall)':<{width}}  {'':>8}  {fmt(finish - origin):>9}")


def main(argv):
    if len(argv) >= 2 and argv[0] == "record" and len(argv) == 6:
        record(*argv[1:])
    elif len(argv) == 2 and argv[0] == "tests":
        tests(argv[1])
    elif len(argv) == 2 and argv[0] == "report":
        report(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
