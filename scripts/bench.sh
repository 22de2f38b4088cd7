#!/usr/bin/env bash
# Conversion benchmark (`make bench`): a generated 1,000,000-row OCSF 1.1.0
# Network Activity object (zstd, row groups of 131,072 rows) converted to bulk
# NDJSON on 1 and 2 threads by Lakeship, and in the same run by DuckDB
# (`COPY (SELECT * FROM read_parquet(...)) TO ... (FORMAT JSON)`) as the named
# peer. Every configuration runs in its own process (peak RSS is per process),
# REPEAT times, and the best time counts. Prints rows/s, peak RSS and ratios.
set -euo pipefail
LAKESHIP_SCRIPT=bench.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAKESHIP_ROOT"

ROWS=${BENCH_ROWS:-1000000}
REPEAT=${BENCH_REPEAT:-3}
DUCKDB_VERSION=2.0.1
BENCH_DIR="$LAKESHIP_ROOT/.bench"
VENV="$BENCH_DIR/venv"

log "building (release profile)"
cargo build --quiet --release -p lakeship-cli
cargo bench --quiet -p lakeship --bench convert --no-run 2>/dev/null
BENCH_BIN=$(cargo bench -p lakeship --bench convert --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for line in sys.stdin:
    m=json.loads(line)
    if m.get("reason")=="compiler-artifact" and m.get("target",{}).get("name")=="convert" and m.get("executable"): print(m["executable"])' | tail -n 1)
[[ -x "$BENCH_BIN" ]] || die "could not find the benchmark binary"

OBJECT="$BENCH_DIR/lake/1.1.0/network_activity-0.parquet"
if [[ ! -f "$OBJECT" || "${BENCH_REGENERATE:-0}" == 1 ]]; then
    log "generating a $ROWS-row OCSF 1.1.0 Network Activity object"
    target/release/lakeship sample --out "$BENCH_DIR/lake" --classes network --versions 1.1.0 \
        --rows "$ROWS" --layout flat --end-time 2024-03-15T00:00:00Z --seed 42 >/dev/null
fi

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c "import duckdb; assert duckdb.__version__ == '$DUCKDB_VERSION'" 2>/dev/null; then
    log "installing duckdb==$DUCKDB_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "duckdb==$DUCKDB_VERSION"
fi

duckdb_run() {
    "$VENV/bin/python" - "$OBJECT" "$1" <<'PY'
import json, resource, sys, time
import duckdb
path, threads = sys.argv[1], int(sys.argv[2])
con = duckdb.connect()
con.execute(f"SET threads={threads}")
rows = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]
started = time.perf_counter()
con.execute(f"COPY (SELECT * FROM read_parquet('{path}')) TO '/dev/null' (FORMAT JSON)")
seconds = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"tool": "duckdb", "threads": threads, "rows": rows, "seconds": round(seconds, 3),
                  "rows_per_sec": round(rows / seconds), "peak_rss_bytes": rss}))
PY
}

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for threads in 1 2; do
    for _ in $(seq "$REPEAT"); do
        "$BENCH_BIN" "$OBJECT" --threads "$threads" >>"$results"
        duckdb_run "$threads" >>"$results"
    done
done
"$BENCH_BIN" "$OBJECT" --threads 1 --decode-only >>"$results"

python3 - "$results" "$OBJECT" <<'PY'
import json, os, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
best = {}
for run in runs:
    key = (run["tool"], run["threads"])
    if key not in best or run["rows_per_sec"] > best[key]["rows_per_sec"]:
        best[key] = run
size = os.path.getsize(sys.argv[2])
print(f"object: {sys.argv[2]} ({size / 1e6:.1f} MB, {best[('lakeship', 1)]['rows']:,} rows); best of the runs per configuration")
print(f"{'tool':<24} {'threads':>7} {'rows/s':>12} {'seconds':>8} {'peak RSS':>10}")
for (tool, threads), run in sorted(best.items()):
    print(f"{tool:<24} {threads:>7} {run['rows_per_sec']:>12,} {run['seconds']:>8.3f} {run['peak_rss_bytes'] / 2**20:>8.0f} MB")
l1, l2 = best[("lakeship", 1)]["rows_per_sec"], best[("lakeship", 2)]["rows_per_sec"]
d1, d2 = best[("duckdb", 1)]["rows_per_sec"], best[("duckdb", 2)]["rows_per_sec"]
print(f"lakeship / duckdb, 1 thread:  {l1 / d1:.2f}x")
print(f"lakeship / duckdb, 2 threads: {l2 / d2:.2f}x")
print(f"lakeship scaling, 2 threads / 1 thread: {l2 / l1:.2f}x")
PY
