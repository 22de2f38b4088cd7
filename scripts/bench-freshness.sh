#!/usr/bin/env bash
# Freshness benchmark (`make bench-freshness`): how long after Security Lake's
# notification an object's rows are searchable on the local path, as a new
# user runs it: ONE `lakeship run --follow --source <queue URL>` on a local
# SQS queue (moto) and a fresh OpenSearch node of its own, while generated
# OCSF 1.1.0 Network Activity objects are put into local S3 and announced on
# the queue at a steady rate (the message Security Lake sends,
# scripts/demo_lake.py): BENCH_FRESHNESS_SMALL_OBJECTS objects of 10,000 rows
# (1 row group) one every BENCH_FRESHNESS_INTERVAL s, then
# BENCH_FRESHNESS_LARGE_OBJECTS of 100,000 rows (10 row groups) one every
# BENCH_FRESHNESS_LARGE_INTERVAL s. Searchable means `_count` of the object's
# own time window equals its rows, polled every 50 ms, never refreshing.
# Prints p50/p95/max from the SQS send to picked up, indexed, finalized and
# searchable, the median's split, and the ratio against the named peer
# measured in the same run at the same refresh interval: the same documents
# posted by a plain `_bulk` client (the floor the node allows). Each
# configuration of BENCH_FRESHNESS_REFRESH is measured in turn: `template`
# (the templates' own refresh_interval, what a user gets) or an interval set
# on the indices (e.g. 10s, the templates' value before issue 23). Then the
# indexing cost of each refresh interval of BENCH_FRESHNESS_COST_REFRESH: the
# large objects' documents posted by two `_bulk` clients into a fresh index
# with that interval (docs/s, the node's CPU seconds, refreshes, segments and
# store bytes), alternating over
# BENCH_FRESHNESS_COST_ROUNDS rounds. Prints the machine's load average.
#
# Environment: BENCH_FRESHNESS_REFRESH (default "template 10s"; "none" skips
# the freshness runs), BENCH_FRESHNESS_COST_REFRESH (default "1s 10s 30s";
# "none" skips the cost runs), BENCH_FRESHNESS_COST_OBJECTS (large objects
# per cost run, default 2), BENCH_FRESHNESS_COST_ROUNDS (default 2),
# BENCH_FRESHNESS_SMALL_OBJECTS (default 12), BENCH_FRESHNESS_INTERVAL
# (default 5), BENCH_FRESHNESS_LARGE_OBJECTS (default 5),
# BENCH_FRESHNESS_LARGE_INTERVAL (default 20), BENCH_FRESHNESS_PORT (default
# 9280; transport +100), BENCH_FRESHNESS_NODE (the node's name, default
# bench-freshness), BENCH_FRESHNESS_MOTO_PORT (default 5280), BENCH_PROFILE
# (release or debug, default release), OPENSEARCH_HEAP (default 1g here).
set -euo pipefail
LAKESHIP_SCRIPT=bench-freshness.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAKESHIP_ROOT"

REFRESH=${BENCH_FRESHNESS_REFRESH:-template 10s}
PORT=${BENCH_FRESHNESS_PORT:-9280}
NODE=${BENCH_FRESHNESS_NODE:-bench-freshness}
MOTO_PORT=${BENCH_FRESHNESS_MOTO_PORT:-5280}
PROFILE=${BENCH_PROFILE:-release}
export OPENSEARCH_HEAP=${OPENSEARCH_HEAP:-1g}
DIR="$LAKESHIP_ROOT/.bench/freshness"
ENDPOINT="http://127.0.0.1:$PORT"
AWS_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
TARGET=${CARGO_TARGET_DIR:-target}

log "building ($PROFILE profile)"
if [[ "$PROFILE" == release ]]; then cargo build --quiet --release -p lakeship-cli; else cargo build --quiet --workspace --bin lakeship; fi
LAKESHIP="$TARGET/$PROFILE/lakeship"

stop() {
    scripts/opensearch.sh stop --name "$NODE" >/dev/null 2>&1 || true
    scripts/moto.sh stop --port "$MOTO_PORT" >/dev/null 2>&1 || true
}
stop
trap 'stop; rm -rf "$DIR/work"' EXIT
scripts/moto.sh start --port "$MOTO_PORT" >&2
scripts/opensearch.sh start --port "$PORT" --name "$NODE" >&2
"$LAKESHIP" templates install --endpoint "$ENDPOINT" >/dev/null
rm -rf "$DIR/work"

"$LAKESHIP_ROOT/.venv/bin/python" scripts/bench_freshness.py --endpoint "$ENDPOINT" --aws-endpoint "$AWS_ENDPOINT" \
    --lakeship "$LAKESHIP" --lake "$DIR/lake" --work "$DIR/work" --refresh "$REFRESH" \
    --small-objects "${BENCH_FRESHNESS_SMALL_OBJECTS:-12}" --interval "${BENCH_FRESHNESS_INTERVAL:-5}" \
    --large-objects "${BENCH_FRESHNESS_LARGE_OBJECTS:-5}" --large-interval "${BENCH_FRESHNESS_LARGE_INTERVAL:-20}" \
    --cost-refresh "${BENCH_FRESHNESS_COST_REFRESH:-1s 10s 30s}" --cost-objects "${BENCH_FRESHNESS_COST_OBJECTS:-2}" \
    --cost-rounds "${BENCH_FRESHNESS_COST_ROUNDS:-2}"
