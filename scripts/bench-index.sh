#!/usr/bin/env bash
# Index-cost benchmark (`make bench-index`): what a document costs the
# OpenSearch node (indexing docs/s, and store bytes per document after a
# force-merge to one segment) for OCSF 1.1.0 Network Activity, DNS Activity,
# API Activity and Detection Finding documents, under
#   dynamic     OpenSearch's dynamic mapping (no templates: what a user gets
#               without Lakeship's templates),
#   before      the templates as they were before the cost work (git ref
#               BENCH_INDEX_BASELINE, default 5d8942b),
#   after       templates/ as committed,
#   after-lz4   templates/ with the default codec (LZ4): what the codec alone gives,
#   after+sort  templates/ with index sorting on time: what sorting would give.
# The same generated documents (lakeship sample, seed 42) are replayed by
# the bulk replay (crates/lakeship/benches/bulk_replay.rs) into a fresh node
# of its own; variants alternate within each of BENCH_REPEAT rounds.
#
# Environment: BENCH_REPEAT (default 2), BENCH_INDEX_ROWS (per class,
# default 100000), BENCH_INDEX_PORT (default 9270; transport +100),
# BENCH_INDEX_BASELINE (git ref of the "before" templates; empty to skip),
# OPENSEARCH_HEAP (default 1g here).
set -euo pipefail
LAKESHIP_SCRIPT=bench-index.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAKESHIP_ROOT"

ROWS=${BENCH_INDEX_ROWS:-100000}
REPEAT=${BENCH_REPEAT:-2}
PORT=${BENCH_INDEX_PORT:-9270}
BASELINE=${BENCH_INDEX_BASELINE-5d8942b}
export OPENSEARCH_HEAP=${OPENSEARCH_HEAP:-1g}
DIR="$LAKESHIP_ROOT/.bench/index"
NODE=bench-index
ENDPOINT="http://127.0.0.1:$PORT"
CLASSES=(network_activity dns_activity api_activity detection_finding)

log "building (release profile)"
cargo build --quiet --release -p lakeship-cli
REPLAY=$(scripts/bench-bin.sh bulk_replay)

LAKE="$DIR/lake-$ROWS"
if [[ ! -d "$LAKE" ]]; then
    log "generating $ROWS rows of each class (OCSF 1.1.0)"
    target/release/lakeship sample --out "$LAKE" --classes network,dns,api,findings --versions 1.1.0 --rows "$ROWS" \
        --row-group-rows 131072 --layout flat --end-time 2024-03-15T00:00:00Z --seed 42 >/dev/null
fi
class_args=()
for class in "${CLASSES[@]}"; do
    bulk="$LAKE/$class.bulk.ndjson"
    [[ -f "$bulk" ]] || target/release/lakeship convert "$LAKE/1.1.0/$class-0.parquet" --bulk -o "$bulk"
    class_args+=(--class "$class=$bulk")
done

# Only the OCSF 1.1.0 templates are installed (the documents are 1.1.0): fewer
# requests between variants.
variants=(--variant dynamic=dynamic)
if [[ -n "$BASELINE" ]]; then
    if git cat-file -e "$BASELINE^{commit}" 2>/dev/null; then
        rm -rf "$DIR/before" && mkdir -p "$DIR/before"
        git archive "$BASELINE" templates/ocsf-1.1.0 | tar -x -C "$DIR/before" --strip-components=1
        variants+=(--variant "before=$DIR/before")
    else
        log "baseline $BASELINE is not in this clone; skipping the 'before' templates"
    fi
fi
rm -rf "$DIR/after" && mkdir -p "$DIR/after" && cp -r templates/ocsf-1.1.0 "$DIR/after/"
variants+=(--variant "after=$DIR/after")
variants+=(--variant "after-lz4=$DIR/after+{\"index.codec\":\"default\"}")
variants+=(--variant "after+sort=$DIR/after+{\"index.sort.field\":\"time\",\"index.sort.order\":\"desc\"}")

scripts/opensearch.sh stop --name "$NODE" >/dev/null 2>&1 || true
trap 'scripts/opensearch.sh stop --name "$NODE" >/dev/null 2>&1 || true' EXIT
scripts/opensearch.sh start --port "$PORT" --name "$NODE" >&2

python3 scripts/bench_index.py --endpoint "$ENDPOINT" --lakeship target/release/lakeship --replay "$REPLAY" \
    --repeat "$REPEAT" --reference before "${class_args[@]}" "${variants[@]}"
