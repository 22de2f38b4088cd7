"""The runs and the table of `make bench-e2e` (see scripts/bench-e2e.sh).

Every run starts from empty `ocsf-*` indices (the templates stay installed)
and is one process: `lakeship index` or the bulk replay. Peak RSS and CPU
time come from the process's own rusage (os.wait4); after each run the index
is refreshed and counted, so a run counts only when every document arrived.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import bench_common as common


def run_process(argv, env=None):
    """Runs argv; returns (seconds, cpu seconds, peak RSS bytes, stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    # Read the pipes before waiting so a chatty child cannot block on a full pipe.
    stdout, stderr = process.stdout.read(), process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.stderr.write(stderr.decode(errors="replace"))
        raise SystemExit(f"{argv[0]} exited with {process.returncode}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, stdout.decode()


def lakeship_run(args, num_bytes):
    shutil.rmtree(args.work, ignore_errors=True)
    env = dict(os.environ, LAKESHIP_ENDPOINT=args.endpoint, LAKESHIP_WORK=args.work)
    seconds, cpu, rss, _ = run_process([args.lakeship, "index", args.objects], env)
    return {"tool": "lakeship", "seconds": seconds, "cpu_seconds": cpu, "peak_rss": rss, "bytes": num_bytes}


def replay_run(args, concurrency):
    seconds, cpu, rss, stdout = run_process([args.replay, args.bulk, "--endpoint", args.endpoint, "--concurrency", str(concurrency)])
    report = json.loads(stdout.strip().splitlines()[-1])
    if report["error_answers"] or report["created"] != report["docs"]:
        raise SystemExit(f"replay: {report['created']} of {report['docs']} created, {report['error_answers']} answers with errors")
    return {"tool": f"replay x{concurrency}", "seconds": seconds, "cpu_seconds": cpu, "peak_rss": rss, "bytes": report["bytes"]}


def first_id(bulk):
    with open(bulk, "rb") as lines:
        action = json.loads(lines.readline())
    target = next(iter(action.values()))
    return target["_index"], target["_id"]


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--endpoint", "--lakeship", "--replay", "--objects", "--bulk", "--work", "--concurrency"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    node = common.Node(args.endpoint)
    num_bytes = os.path.getsize(args.bulk)
    with open(args.bulk, "rb") as lines:
        num_docs = sum(1 for _ in lines) // 2

    def counted(run):
        node.refresh("ocsf-*")
        count = node.count("ocsf-*")
        if count != num_docs:
            raise SystemExit(f"{run['tool']}: {count} documents in the index, expected {num_docs}")
        run["docs"] = num_docs
        return run

    # The replay's best concurrency in this run (each tried once, fresh indices).
    node.delete("ocsf-*,lakeship-ledger")
    trials = []
    for concurrency in [int(c) for c in args.concurrency.split()]:
        node.delete("ocsf-*")
        trials.append((counted(replay_run(args, concurrency)), concurrency))
    best_concurrency = min(trials, key=lambda trial: trial[0]["seconds"])[1]
    print("replay concurrency: " + ", ".join(f"{c}: {num_docs / r['seconds']:,.0f} docs/s" for r, c in trials)
          + f"; using {best_concurrency}", flush=True)

    # Lakeship and the replay alternate; the ids are the same.
    rounds = []
    for _ in range(args.repeat):
        node.delete("ocsf-*,lakeship-ledger")
        lakeship = counted(lakeship_run(args, num_bytes))
        index, doc_id = first_id(args.bulk)
        if not node.exists(f"{index}/_doc/{doc_id}"):
            raise SystemExit(f"lakeship index did not write document {doc_id} of the bulk body: the ids differ")
        node.delete("ocsf-*,lakeship-ledger")
        replay = counted(replay_run(args, best_concurrency))
        rounds.append((lakeship, replay))

    print(f"objects: {args.objects} ({common.human_bytes(common.tree_size(args.objects))} Parquet); "
          f"{num_docs:,} documents, {num_bytes / 1e6:.1f} MB of bulk body; {args.repeat} rounds, best run per tool")
    print(f"{'tool':<14} {'docs/s':>10} {'MB/s':>8} {'seconds':>8} {'CPU s':>7} {'CPU s/GiB':>10} {'peak RSS':>9}")
    best = {}
    for run in [run for pair in rounds for run in pair]:
        key = run["tool"]
        if key not in best or run["seconds"] < best[key]["seconds"]:
            best[key] = run
    for run in best.values():
        gib = run["bytes"] / 2**30
        print(f"{run['tool']:<14} {run['docs'] / run['seconds']:>10,.0f} {run['bytes'] / 1e6 / run['seconds']:>8.1f} "
              f"{run['seconds']:>8.2f} {run['cpu_seconds']:>7.2f} {run['cpu_seconds'] / gib:>10.2f} {run['peak_rss'] / 2**20:>6.0f} MB")
    per_round = [replay["seconds"] / lakeship["seconds"] for lakeship, replay in rounds]
    best_ratio = best[f"replay x{best_concurrency}"]["seconds"] / best["lakeship"]["seconds"]
    print(f"lakeship / replay (docs/s), best runs: {best_ratio:.2f}; per round: " + ", ".join(f"{r:.2f}" for r in per_round))


if __name__ == "__main__":
    main()
