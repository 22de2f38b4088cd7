#!/usr/bin/env bash
# Backlog benchmark (`make bench-backlog`): the same backlog of generated OCSF
# 1.1.0 Network Activity objects indexed by `lakeship index` into a node of its
# own whose write queue is small (it answers 429 early, as a busy domain does),
#   - with adaptive bulk concurrency (the default: 1 up to N requests in flight
#     per worker, AIMD on 429s/5xx and latency), and
#   - with the named peer, fixed concurrency (LAKESHIP_FIXED_CONCURRENCY=true,
#     N requests in flight per worker always, as before),
# alternating, BENCH_REPEAT times each, every run into empty indices. Prints
# docs/s, the write pool's rejections (429s) per run, and the ratio adaptive /
# fixed (best of the runs, and per round), with the machine's load.
#
# Environment: BENCH_REPEAT (default 3), BENCH_BACKLOG_ROWS (default 200000),
# BENCH_BACKLOG_OBJECTS (default 40), BENCH_BACKLOG_WORKERS (default 8),
# BENCH_BACKLOG_IN_FLIGHT (N above, default 8), BENCH_BACKLOG_REQUEST_DOCS
# (documents per bulk request, default 500, so a shard sends several and the
# requests in flight per worker matter), BENCH_BACKLOG_QUEUE (the node's
# thread_pool.write.queue_size, default 4), BENCH_BACKLOG_PORT (default 9270;
# transport +100), BENCH_PROFILE (release or debug, default release),
# OPENSEARCH_HEAP (default 1g here).
set -euo pipefail
LAKESHIP_SCRIPT=bench-backlog.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAKESHIP_ROOT"

ROWS=${BENCH_BACKLOG_ROWS:-200000}
OBJECTS=${BENCH_BACKLOG_OBJECTS:-40}
WORKERS=${BENCH_BACKLOG_WORKERS:-8}
IN_FLIGHT=${BENCH_BACKLOG_IN_FLIGHT:-8}
QUEUE=${BENCH_BACKLOG_QUEUE:-4}
export LAKESHIP_MAX_REQUEST_DOCS=${BENCH_BACKLOG_REQUEST_DOCS:-500}
REPEAT=${BENCH_REPEAT:-3}
PORT=${BENCH_BACKLOG_PORT:-9270}
PROFILE=${BENCH_PROFILE:-release}
export OPENSEARCH_HEAP=${OPENSEARCH_HEAP:-1g}
DIR="$LAKESHIP_ROOT/.bench/backlog"
NODE=bench-backlog
ENDPOINT="http://127.0.0.1:$PORT"
TARGET=${CARGO_TARGET_DIR:-target}

log "building ($PROFILE profile)"
if [[ "$PROFILE" == release ]]; then cargo build --quiet --release -p lakeship-cli; else cargo build --quiet --workspace --bin lakeship; fi
LAKESHIP="$TARGET/$PROFILE/lakeship"

LAKE="$DIR/lake-$ROWS-$OBJECTS"
if [[ ! -d "$LAKE" ]]; then
    log "generating $OBJECTS OCSF 1.1.0 Network Activity objects, $ROWS rows in all"
    "$LAKESHIP" sample --out "$LAKE" --classes network --versions 1.1.0 --rows $((ROWS / OBJECTS)) \
        --objects "$OBJECTS" --layout flat --end-time 2024-03-15T00:00:00Z --seed 42 >/dev/null
fi

scripts/opensearch.sh stop --name "$NODE" >/dev/null 2>&1 || true
trap 'scripts/opensearch.sh stop --name "$NODE" >/dev/null 2>&1 || true; rm -rf "$DIR/work"' EXIT
scripts/opensearch.sh start --port "$PORT" --name "$NODE" -E "thread_pool.write.queue_size=$QUEUE" >&2
"$LAKESHIP" templates install --endpoint "$ENDPOINT" >/dev/null

python3 scripts/bench_backlog.py --endpoint "$ENDPOINT" --lakeship "$LAKESHIP" --objects "$LAKE" --work "$DIR/work" \
    --repeat "$REPEAT" --workers "$WORKERS" --in-flight "$IN_FLIGHT" --queue "$QUEUE" --profile "$PROFILE"
