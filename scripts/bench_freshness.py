"""The runs and the tables of `make bench-freshness` (see scripts/bench-freshness.sh).

For every configuration (the templates' own refresh interval, or one set on
the indices), one `lakeship run --follow --source <queue URL>` consumes a
local SQS queue (moto) while this harness puts generated OCSF Parquet objects
into local S3 and announces them on the queue, one every --interval seconds,
with the message Security Lake sends (scripts/demo_lake.py). Each object's
rows lie in a time window of their own, so `_count` with a range on `time`
(never a refresh) says when all of them are searchable. Measured from the
SQS send, per object:

  picked up    the run's start (the ledger entry's `run_started_at`: the
               dispatcher's manifest, written right after the receive)
  indexed      the last shard's end (the ledger entry's `ended_at`: every
               bulk request answered)
  finalized    the ledger entry readable (a real-time GET by its id, polled)
  searchable   `_count` of the object's window equals its rows (polled)

The named peer, measured in the same run at the same refresh interval: the
floor the node allows, the object's own bulk body (`lakeship convert --bulk`)
posted by a plain `_bulk` client into a sibling index of the same template,
timed from the first request to searchable, on the same schedule.

Before a configuration is measured, one warm-up object goes through the
pipeline and one through `_bulk`, so the indices exist (index creation is not
part of a steady stream's freshness); then the refresh interval is set on
them if the configuration names one.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import signal
import statistics
import subprocess
import threading
import time
import urllib.request

import boto3

import bench_common as common
import demo_lake

CLASS_PATTERN = "ocsf-1.1.0-4001-*"
FLOOR_INDEX = "ocsf-1.1.0-4001-network_activity-floor"
PIPELINE_INDICES = "ocsf-*,-*-floor"
# Objects' windows: object n covers [BASE + n hours - 59 min, BASE + n hours),
# all in March 2024, so every object (the warm-up's too) goes to the same
# monthly index.
BASE = datetime.datetime(2024, 3, 2, tzinfo=datetime.timezone.utc)
POLL_SECONDS = 0.05
RECEIVED = re.compile(r"^(\d+) message\(s\) from ")
TIMEOUT_SECONDS = 300


class Lake:
    """The generated objects: one Parquet file per (rows, slot), each with
    its own one-hour slot of time."""

    def __init__(self, lakeship, directory):
        self.lakeship = lakeship
        self.directory = directory

    def object(self, rows, slot):
        end = BASE + datetime.timedelta(hours=slot)
        out = os.path.join(self.directory, f"{rows}-{end.strftime('%Y%m%dT%H')}")
        path = os.path.join(out, "1.1.0", "network_activity-0.parquet")
        if not os.path.exists(path):
            subprocess.run([self.lakeship, "sample", "--out", out, "--classes", "network", "--versions", "1.1.0",
                            "--rows", str(rows), "--row-group-rows", "10000", "--objects", "1", "--layout", "flat",
                            "--window", "59m", "--end-time", end.strftime("%Y-%m-%dT%H:%M:%SZ"), "--seed", str(slot)],
                           check=True, stdout=subprocess.DEVNULL)
        return {"rows": rows, "slot": slot, "path": path,
                "window": ((end - datetime.timedelta(minutes=59, seconds=30)).isoformat(), (end + datetime.timedelta(seconds=30)).isoformat())}

    def bulk(self, item):
        """The object's bulk body (as `lakeship convert --bulk` writes it),
        aimed at the floor index, cut in requests of 5,000 documents."""
        path = item["path"] + ".floor.ndjson"
        if not os.path.exists(path):
            subprocess.run([self.lakeship, "convert", item["path"], "--bulk", "-o", path + ".tmp"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(path + ".tmp") as source, open(path, "w") as target:
                for line in source:
                    if line.startswith('{"create":'):
                        action = json.loads(line)
                        action["create"]["_index"] = FLOOR_INDEX
                        line = json.dumps(action) + "\n"
                    target.write(line)
            os.remove(path + ".tmp")
        with open(path, "rb") as lines:
            all_lines = lines.readlines()
        per_request = 2 * 5000
        return [b"".join(all_lines[start:start + per_request]) for start in range(0, len(all_lines), per_request)]


def object_id(bucket, key, etag):
    """Lakeship's id of an S3 object (crates/lakeship/src/ids.rs)."""
    identity = f"{bucket}\0{key}\0{etag.strip(chr(34))}".encode()
    return base64.urlsafe_b64encode(hashlib.sha256(identity).digest()[:12]).decode().rstrip("=")


class Watcher(threading.Thread):
    """Polls, every POLL_SECONDS, each announced object's `_count` (and its
    ledger entry, for the pipeline) until all are done."""

    def __init__(self, node, indices, ledger):
        super().__init__(daemon=True)
        self.node, self.indices, self.ledger = node, indices, ledger
        self.items, self.lock, self.error = [], threading.Lock(), None

    def add(self, item):
        with self.lock:
            self.items.append(item)

    def pending(self):
        with self.lock:
            return [item for item in self.items if "searchable" not in item or (self.ledger and "finalized" not in item)]

    def run(self):
        try:
            while True:
                for item in self.pending():
                    self.poll(item)
                time.sleep(POLL_SECONDS)
        except BaseException as error:  # reported by wait()
            self.error = error

    def poll(self, item):
        now = time.time()
        if "searchable" not in item:
            start, end = item["window"]
            query = {"query": {"range": {"time": {"gte": start, "lt": end}}}}
            # 404/503 while the index is being created and its shards start.
            status, answer = self.node.request("POST", f"{self.indices}/_count?allow_no_indices=true", query, ok=(200, 404, 503))
            count = answer["count"] if status == 200 else 0
            if count == item["rows"]:
                item["searchable"] = now
            elif count > item["rows"]:
                raise SystemExit(f"{count} documents in the window of {item['key']}, expected {item['rows']}")
        if self.ledger and "finalized" not in item:
            status, entry = self.node.request("GET", f"lakeship-ledger/_doc/{item['object_id']}", ok=(200, 404, 503))
            if status == 200:
                item["finalized"] = now
                item["entry"] = entry["_source"]
                if entry["_source"]["status"] != "complete":
                    raise SystemExit(f"{item['key']}: ledger status {entry['_source']['status']}: {entry['_source'].get('reason')}")
        if now - item["sent"] > TIMEOUT_SECONDS:
            raise SystemExit(f"{item['key']} not done {TIMEOUT_SECONDS} s after it was sent: {item}")

    def wait(self):
        while self.pending():
            if self.error is not None:
                raise self.error
            if not self.is_alive():
                raise SystemExit("the watcher stopped")
            time.sleep(0.1)


class Pipeline:
    """One `lakeship run --follow` on a queue of its own."""

    def __init__(self, args, name):
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        self.s3 = session.client("s3", endpoint_url=args.aws_endpoint)
        self.sqs = session.client("sqs", endpoint_url=args.aws_endpoint)
        self.bucket = "aws-security-data-lake-us-east-1-bench"
        self.s3.create_bucket(Bucket=self.bucket)
        self.queue_url = self.sqs.create_queue(QueueName=f"freshness-{name}", Attributes={"VisibilityTimeout": "900"})["QueueUrl"]
        self.name = name
        env = dict(os.environ, LAKESHIP_ENDPOINT=args.endpoint, LAKESHIP_AWS_ENDPOINT=args.aws_endpoint,
                   LAKESHIP_WORK=os.path.join(args.work, name), AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1")
        self.log_path = os.path.join(args.work, f"run-{name}.log")
        os.makedirs(args.work, exist_ok=True)
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([args.lakeship, "run", "--follow", "--source", self.queue_url], env=env,
                                        stdout=self.log, stderr=subprocess.PIPE, text=True)
        self.sent, self.received = [], []
        self.reader = threading.Thread(target=self.read_log, daemon=True)
        self.reader.start()

    def read_log(self):
        """Copies the run's stderr to its log; each "N message(s) from" line
        (printed right after a receive) marks the N oldest sent, not yet
        received messages received (moto's queue hands them out in order)."""
        for line in self.process.stderr:
            now = time.time()
            self.log.write(line)
            match = RECEIVED.match(line)
            if match:
                self.received.extend([now] * int(match.group(1)))
                for item, at in zip(self.sent, self.received):
                    item.setdefault("received", at)

    def upload(self, item, phase):
        item["key"] = f"bench/{self.name}/{phase}/{item['rows']}-{item['slot']}.parquet"
        with open(item["path"], "rb") as file:
            body = file.read()
        etag = self.s3.put_object(Bucket=self.bucket, Key=item["key"], Body=body)["ETag"]
        item["object_id"] = object_id(self.bucket, item["key"], etag)
        item["message"] = json.dumps(demo_lake.notification(self.bucket, item["key"], len(body), etag))

    def send(self, item):
        self.check()
        item["sent"] = time.time()
        self.sent.append(item)
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=item["message"])

    def check(self):
        if self.process.poll() is not None:
            raise SystemExit(f"lakeship run exited with {self.process.returncode}; see {self.log_path}")

    def stop(self):
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=10)
        self.log.close()


def post_bulk(node, requests):
    for body in requests:
        request = urllib.request.Request(f"{node.endpoint}/_bulk", data=body, method="POST",
                                                headers={"content-type": "application/x-ndjson"})
        with urllib.request.urlopen(request, timeout=600) as answer:
            report = json.loads(answer.read())
        if report["errors"]:
            first = next(item for item in report["items"] if "error" in next(iter(item.values())))
            raise SystemExit(f"_bulk into the floor index answered errors, e.g. {first}")


def steady(items, interval, act):
    """Calls act(item) for each item, one every `interval` seconds."""
    started = time.time()
    for number, item in enumerate(items):
        delay = started + number * interval - time.time()
        if delay > 0:
            time.sleep(delay)
        act(item)


def refresh_intervals(node):
    """The refresh intervals of the OCSF indices now (the floor's included)."""
    settings = node.request("GET", f"{CLASS_PATTERN}/_settings/index.refresh_interval?include_defaults=true&flat_settings=true")[1]
    return sorted({(index.get("settings") or index.get("defaults"))["index.refresh_interval"] for index in settings.values()})


def measure_pipeline(args, node, lake, name, refresh):
    pipeline = Pipeline(args, name)
    watcher = Watcher(node, PIPELINE_INDICES, ledger=True)
    watcher.start()
    try:
        warm_up = lake.object(args.small_rows, 0)
        pipeline.upload(warm_up, "warm-up")
        pipeline.send(warm_up)
        watcher.add(warm_up)
        watcher.wait()
        floor_warm_up = dict(lake.object(args.small_rows, 0))
        floor_watcher = Watcher(node, FLOOR_INDEX, ledger=False)
        floor_watcher.start()
        floor_warm_up["sent"] = time.time()
        post_bulk(node, lake.bulk(floor_warm_up))
        floor_watcher.add(floor_warm_up)
        floor_watcher.wait()
        if refresh != "template":
            node.request("PUT", "ocsf-*/_settings", {"index": {"refresh_interval": refresh}})
        results = []
        for rows, count, interval, first in ((args.small_rows, args.small_objects, args.interval, 1),
                                             (args.large_rows, args.large_objects, args.large_interval, 101)):
            items = [lake.object(rows, slot) for slot in range(first, first + count)]
            for item in items:
                pipeline.upload(item, "measured")
            load_before = os.getloadavg()

            def announce(item):
                pipeline.send(item)
                watcher.add(item)
            steady(items, interval, announce)
            watcher.wait()
            intervals = refresh_intervals(node)
            if len(intervals) != 1 or (refresh != "template" and intervals != [refresh]):
                raise SystemExit(f"the indices' refresh intervals are {intervals}, expected one ({refresh})")
            results.append({"config": name, "refresh": intervals[0], "rows": rows, "interval": interval,
                            "items": items, "load": (load_before, os.getloadavg())})
            print(f"  {name:<9} {rows:>7,} rows: {count} objects through the pipeline, searchable p50 "
                  f"{statistics.median(i['searchable'] - i['sent'] for i in items):.2f} s", flush=True)
    finally:
        pipeline.stop()
    for result in results:
        floors = [dict(lake.object(result["rows"], item["slot"])) for item in result["items"]]

        def post(item):
            item["sent"] = time.time()
            post_bulk(node, lake.bulk(item))
            item["posted"] = time.time()
            floor_watcher.add(item)
        load_before = os.getloadavg()
        steady(floors, result["interval"], post)
        floor_watcher.wait()
        result["floor"] = floors
        result["floor_load"] = (load_before, os.getloadavg())
        print(f"  {name:<9} {result['rows']:>7,} rows: {len(floors)} objects by _bulk, searchable p50 "
              f"{statistics.median(i['searchable'] - i['sent'] for i in floors):.2f} s", flush=True)
    return results


COST_INDEX = "ocsf-1.1.0-4001-network_activity-cost"


def node_cpu_seconds(node):
    stats = node.request("GET", "_nodes/_local/stats/process")[1]["nodes"]
    return next(iter(stats.values()))["process"]["cpu"]["total_in_millis"] / 1000


def measure_refresh_cost(args, node, lake):
    """Indexing cost at each refresh interval: the large objects' bulk
    bodies posted by two client threads into a fresh index of the same
    template with the interval set at creation; docs/s, the node's CPU
    seconds, and the refreshes, segments and store bytes when the last
    request was answered, the intervals alternating over --cost-rounds
    rounds."""
    bodies = []
    for slot in range(101, 101 + args.cost_objects):
        item = lake.object(args.large_rows, slot)
        bodies.extend(request.replace(FLOOR_INDEX.encode(), COST_INDEX.encode()) for request in lake.bulk(item))
    num_docs = args.cost_objects * args.large_rows
    runs = {}
    for _ in range(args.cost_rounds):
        for interval in args.cost_refresh.split():
            node.delete(COST_INDEX)
            node.request("PUT", COST_INDEX, {"settings": {"index": {"refresh_interval": interval}}})
            node.request("GET", f"_cluster/health/{COST_INDEX}?wait_for_status=yellow&timeout=60s")
            cpu, started = node_cpu_seconds(node), time.time()
            threads = [threading.Thread(target=post_bulk, args=(node, bodies[half::2])) for half in (0, 1)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds, cpu = time.time() - started, node_cpu_seconds(node) - cpu
            stats = node.request("GET", f"{COST_INDEX}/_stats/refresh,segments,store,merge")[1]["_all"]["primaries"]
            node.refresh(COST_INDEX)
            count = node.count(COST_INDEX)
            if count != num_docs:
                raise SystemExit(f"refresh {interval}: {count} documents in {COST_INDEX}, expected {num_docs}")
            run = {"docs_per_sec": num_docs / seconds, "cpu": cpu, "refreshes": stats["refresh"]["total"],
                   "segments": stats["segments"]["count"], "store": stats["store"]["size_in_bytes"],
                   "merges": stats["merges"]["total"], "load": os.getloadavg()[0]}
            print(f"  refresh {interval:>4}: {run['docs_per_sec']:>7,.0f} docs/s, node CPU {cpu:.1f} s, "
                  f"{run['refreshes']} refreshes, {run['segments']} segments", flush=True)
            runs.setdefault(interval, []).append(run)
    node.delete(COST_INDEX)
    print()
    print(f"indexing cost per refresh interval: {num_docs:,} documents ({args.cost_objects} x {args.large_rows:,}-row objects) "
          f"by two _bulk clients, best docs/s of {args.cost_rounds} rounds, the other columns the median")
    print(f"{'refresh':>7} {'docs/s':>8} {'CPU s':>6} {'CPU ms/1k docs':>14} {'refreshes':>9} {'merges':>6} {'segments':>8} "
          f"{'store MB':>8} {'load':>5}")
    for interval, measured in runs.items():
        def med(key):
            return statistics.median(run[key] for run in measured)
        print(f"{interval:>7} {max(r['docs_per_sec'] for r in measured):>8,.0f} {med('cpu'):>6.1f} "
              f"{med('cpu') * 1e6 / num_docs:>14.1f} {med('refreshes'):>9.0f} {med('merges'):>6.0f} {med('segments'):>8.0f} "
              f"{med('store') / 1e6:>8.1f} {med('load'):>5.1f}")
    print("(refreshes, merges, segments and store MB as the index stood when the last request was answered, before any")
    print(" refresh of the harness's own; CPU is the node's process CPU over the posting)")


def quantiles(values):
    values = sorted(values)
    if len(values) == 1:
        return values[0], values[0], values[0]
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return statistics.median(values), cuts[18], values[-1]


def seconds(triple):
    return "/".join(f"{value:.2f}" for value in triple)


def parts(item):
    """An object's moments, in seconds from its SQS send."""
    entry, sent = item["entry"], item["sent"]
    return {"received": item.get("received", float("nan")) - sent, "planned": entry["run_started_at"] / 1000 - sent,
            "shard starts": entry["started_at"] / 1000 - sent, "indexed": entry["ended_at"] / 1000 - sent,
            "finalized": item["finalized"] - sent, "searchable": item["searchable"] - sent}


def report(results):
    print()
    print("seconds from the SQS send (the floor: from its first _bulk request), p50/p95/max over n objects")
    print(f"{'config':<12} {'refresh':>7} {'rows':>8} {'n':>3} {'every':>5} {'received':>16} {'indexed':>17} "
          f"{'searchable':>17} {'floor':>17} {'÷ floor':>7}")
    for r in results:
        moments = [parts(item) for item in r["items"]]
        received, indexed, searchable = (quantiles([m[name] for m in moments]) for name in ("received", "indexed", "searchable"))
        floor = quantiles([i["searchable"] - i["sent"] for i in r["floor"]])
        r["searchable"], r["floor_searchable"] = searchable, floor
        print(f"{r['config']:<12} {r['refresh']:>7} {r['rows']:>8,} {len(moments):>3} {r['interval']:>4g}s {seconds(received):>16} "
              f"{seconds(indexed):>17} {seconds(searchable):>17} {seconds(floor):>17} {searchable[0] / floor[0]:>7.2f}")
    print("(÷ floor: searchable p50 / the floor's p50)")
    print()
    print("medians of the parts (seconds): queue = send -> lakeship's receive (waiting for the run before it and the")
    print("long poll); plan = receive -> manifest (footer read, ledger check); shards = manifest -> last bulk answered;")
    print("finalize = -> ledger entry readable; refresh = last bulk answered -> searchable (the next refresh); the floor:")
    print("_bulk post, then refresh")
    print(f"{'config':<12} {'rows':>8} {'queue':>6} {'plan':>6} {'shards':>7} {'finalize':>8} {'refresh':>7} | "
          f"{'post':>6} {'refresh':>7}")
    for r in results:
        moments = [parts(item) for item in r["items"]]

        def med(first, second):
            return statistics.median(m[second] - (m[first] if first else 0) for m in moments)
        post = statistics.median(i["posted"] - i["sent"] for i in r["floor"])
        floor_wait = statistics.median(i["searchable"] - i["posted"] for i in r["floor"])
        print(f"{r['config']:<12} {r['rows']:>8,} {med(None, 'received'):>6.2f} {med('received', 'planned'):>6.2f} "
              f"{med('planned', 'indexed'):>7.2f} {med('indexed', 'finalized'):>8.2f} {med('indexed', 'searchable'):>7.2f} | "
              f"{post:>6.2f} {floor_wait:>7.2f}")
    configs = list(dict.fromkeys(r["config"] for r in results))
    if len(configs) > 1:
        print()
        for other in configs[1:]:
            for rows in dict.fromkeys(r["rows"] for r in results):
                a = next(r for r in results if r["config"] == configs[0] and r["rows"] == rows)
                b = next(r for r in results if r["config"] == other and r["rows"] == rows)
                print(f"searchable, {rows:,} rows: {configs[0]} ({a['refresh']}) / {other} ({b['refresh']}): "
                      f"p50 {a['searchable'][0] / b['searchable'][0]:.2f}, p95 {a['searchable'][1] / b['searchable'][1]:.2f}")
    print()
    loads = [load for r in results for load in (*r["load"], *r["floor_load"])]
    print(f"load average (1 min) at the start and end of each phase: {min(l[0] for l in loads):.2f} to "
          f"{max(l[0] for l in loads):.2f} on {os.cpu_count()} cores (OpenSearch, moto, lakeship and this harness included)")


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--endpoint", "--aws-endpoint", "--lakeship", "--lake", "--work"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--refresh", default="template 10s",
                        help="configurations: 'template' (the templates' own interval) or an interval set on the indices; 'none' for none")
    parser.add_argument("--small-rows", type=int, default=10000)
    parser.add_argument("--small-objects", type=int, default=12)
    parser.add_argument("--interval", type=float, default=5)
    parser.add_argument("--large-rows", type=int, default=100000)
    parser.add_argument("--large-objects", type=int, default=5)
    parser.add_argument("--large-interval", type=float, default=20)
    parser.add_argument("--cost-refresh", default="1s 10s 30s",
                        help="refresh intervals whose indexing cost is measured after the freshness runs ('none': none)")
    parser.add_argument("--cost-objects", type=int, default=2)
    parser.add_argument("--cost-rounds", type=int, default=2)
    parser.add_argument("--json", help="also write the measurements here")
    args = parser.parse_args()
    node = common.Node(args.endpoint)
    lake = Lake(args.lakeship, args.lake)
    print(f"load average before: {' '.join(f'{l:.2f}' for l in os.getloadavg())} on {os.cpu_count()} cores", flush=True)
    node.delete("ocsf-*,lakeship-ledger")
    results = []
    for refresh in [config for config in args.refresh.split() if config != "none"]:
        name = "template" if refresh == "template" else f"set-{refresh}"
        node.delete("ocsf-*")
        results.extend(measure_pipeline(args, node, lake, name, refresh))
    if results:
        report(results)
    if args.cost_refresh.strip() not in ("", "none"):
        print(flush=True)
        measure_refresh_cost(args, node, lake)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=1, default=str)


if __name__ == "__main__":
    main()
