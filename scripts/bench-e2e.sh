#!/usr/bin/env bash
# End-to-end benchmark (`make bench-e2e`): the same generated OCSF 1.1.0
# Network Activity objects delivered to a fresh OpenSearch node of its own
#   - by Lakeship (`lakeship index`: read, convert, bulk-index, ledger), and
#   - by the named peer, a plain `_bulk` replay (crates/lakeship/benches/bulk_replay.rs)
#     of the body `lakeship convert --bulk` writes for the same objects: same
#     documents, same ids, same request cut (5,000 docs / 5 MiB), same path,
#     at the client concurrency that was fastest in this run,
# alternating, BENCH_REPEAT times each, every run into empty indices. Prints
# docs/s, MB/s, Lakeship's CPU seconds per GiB delivered and peak RSS, and the
# ratio Lakeship / replay (best of the runs, and per round).
#
# Environment: BENCH_REPEAT (default 3), BENCH_E2E_ROWS (default 200000),
# BENCH_E2E_OBJECTS (default 4), BENCH_E2E_PORT (default 9260; transport +100),
# BENCH_E2E_CONCURRENCY (replay concurrencies tried, default "1 2 3 4 6"),
# OPENSEARCH_HEAP (default 1g here).
set -euo pipefail
LAKESHIP_SCRIPT=bench-e2e.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAKESHIP_ROOT"

ROWS=${BENCH_E2E_ROWS:-200000}
OBJECTS=${BENCH_E2E_OBJECTS:-4}
REPEAT=${BENCH_REPEAT:-3}
PORT=${BENCH_E2E_PORT:-9260}
CONCURRENCY=${BENCH_E2E_CONCURRENCY:-1 2 3 4 6}
export OPENSEARCH_HEAP=${OPENSEARCH_HEAP:-1g}
DIR="$LAKESHIP_ROOT/.bench/e2e"
NODE=bench-e2e
ENDPOINT="http://127.0.0.1:$PORT"

log "building (release profile)"
cargo build --quiet --release -p lakeship-cli
REPLAY=$(scripts/bench-bin.sh bulk_replay)

LAKE="$DIR/lake-$ROWS-$OBJECTS"
if [[ ! -d "$LAKE" ]]; then
    log "generating $OBJECTS OCSF 1.1.0 Network Activity objects, $ROWS rows in all"
    target/release/lakeship sample --out "$LAKE" --classes network --versions 1.1.0 --rows $((ROWS / OBJECTS)) \
        --objects "$OBJECTS" --layout flat --end-time 2024-03-15T00:00:00Z --seed 42 >/dev/null
fi
BULK="$LAKE.bulk.ndjson"
log "converting the objects to a bulk body with lakeship convert --bulk"
target/release/lakeship convert "$LAKE" --bulk -o "$BULK"

scripts/opensearch.sh stop --name "$NODE" >/dev/null 2>&1 || true
trap 'scripts/opensearch.sh stop --name "$NODE" >/dev/null 2>&1 || true; rm -rf "$DIR/work"' EXIT
scripts/opensearch.sh start --port "$PORT" --name "$NODE" >&2
target/release/lakeship templates install --endpoint "$ENDPOINT" >/dev/null

python3 scripts/bench_e2e.py --endpoint "$ENDPOINT" --lakeship target/release/lakeship --replay "$REPLAY" \
    --objects "$LAKE" --bulk "$BULK" --work "$DIR/work" --repeat "$REPEAT" --concurrency "$CONCURRENCY"
