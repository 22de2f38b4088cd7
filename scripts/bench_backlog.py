"""The runs and the table of `make bench-backlog` (see scripts/bench-backlog.sh).

Every run starts from empty `ocsf-*` indices (the templates stay installed)
and is one `lakeship index` process; after it the index is refreshed and
counted, so a run counts only when every document arrived exactly once. The
429s of a run are the growth of the node's `write` thread pool `rejected`
counter (each rejected bulk shard request is a 429 item or request).
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

import bench_common as common


def rejected(node):
    stats = node.request("GET", "_nodes/stats/thread_pool")[1]
    return sum(entry["thread_pool"]["write"]["rejected"] for entry in stats["nodes"].values())


def index_run(args, node, mode):
    shutil.rmtree(args.work, ignore_errors=True)
    env = dict(os.environ, LAKESHIP_ENDPOINT=args.endpoint, LAKESHIP_WORK=args.work, LAKESHIP_WORKERS=args.workers,
               LAKESHIP_REQUESTS_IN_FLIGHT=args.in_flight, LAKESHIP_FIXED_CONCURRENCY="true" if mode == "fixed" else "false")
    before = rejected(node)
    started = time.perf_counter()
    process = subprocess.run([args.lakeship, "index", args.objects], env=env, capture_output=True)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        sys.stderr.write(process.stderr.decode(errors="replace")[-4000:])
        raise SystemExit(f"lakeship index ({mode}) exited with {process.returncode}")
    return {"mode": mode, "seconds": seconds, "rejected": rejected(node) - before}


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--endpoint", "--lakeship", "--objects", "--work", "--workers", "--in-flight", "--queue", "--profile"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    node = common.Node(args.endpoint)

    rounds = []
    num_docs = None
    for _ in range(args.repeat):
        pair = {}
        for mode in ("adaptive", "fixed"):
            node.delete("ocsf-*,lakeship-ledger")
            run = index_run(args, node, mode)
            node.refresh("ocsf-*")
            count = node.count("ocsf-*")
            if num_docs is not None and count != num_docs:
                raise SystemExit(f"{mode}: {count} documents in the index, the other run had {num_docs}")
            num_docs = count
            run["docs"] = count
            pair[mode] = run
            print(f"{mode:<9} {count / run['seconds']:>9,.0f} docs/s  {run['seconds']:>7.2f} s  {run['rejected']:>7} 429s", flush=True)
        rounds.append(pair)

    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"objects: {args.objects} ({common.human_bytes(common.tree_size(args.objects))} Parquet); {num_docs:,} documents; "
          f"{args.workers} workers, {args.in_flight} requests in flight per worker at most (adaptive) or always (fixed); "
          f"{os.environ.get('LAKESHIP_MAX_REQUEST_DOCS', '5000')} documents per request; write queue {args.queue}; "
          f"{args.profile} build; {args.repeat} rounds")
    print(f"load: {load}")
    print(f"{'mode':<9} {'docs/s':>10} {'seconds':>8} {'429s':>8}   (best run)")
    best = {mode: min((pair[mode] for pair in rounds), key=lambda run: run["seconds"]) for mode in ("adaptive", "fixed")}
    for mode, run in best.items():
        print(f"{mode:<9} {run['docs'] / run['seconds']:>10,.0f} {run['seconds']:>8.2f} {run['rejected']:>8}")
    per_round = [pair["fixed"]["seconds"] / pair["adaptive"]["seconds"] for pair in rounds]
    print(f"adaptive / fixed (docs/s), best runs: {best['fixed']['seconds'] / best['adaptive']['seconds']:.2f}; "
          "per round: " + ", ".join(f"{ratio:.2f}" for ratio in per_round))


if __name__ == "__main__":
    main()
