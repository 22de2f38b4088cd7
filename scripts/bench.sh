#!/usr/bin/env bash
# Conversion benchmark (`make bench`): three shapes of one 1,000,000-row OCSF
# 1.1.0 Network Activity object (row groups of 131,072 rows, zstd)
#   lakeship       written by `lakeship sample` (arrow-rs),
#   pyarrow        the same rows written again by pyarrow (its defaults:
#                  dictionary encoding with fallback to plain, 1 MiB pages),
#   pyarrow-large  the same again with every string column as pyarrow's
#                  `large_string` (64-bit offsets, kept in the file's Arrow
#                  schema, so readers decode them as large strings),
# converted to bulk NDJSON on 1 and 2 threads by Lakeship, and in the same run
# by DuckDB (`COPY (SELECT * FROM read_parquet(...)) TO ... (FORMAT JSON)`) as
# the named peer. Every configuration runs in its own process (peak RSS is per
# process), REPEAT times, alternating tools and shapes, and the best time
# counts. Prints each shape's column encodings, then rows/s, peak RSS and
# ratios per shape, and the load average (the machine may be shared).
set -euo pipefail
LAKESHIP_SCRIPT=bench.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAKESHIP_ROOT"

ROWS=${BENCH_ROWS:-1000000}
REPEAT=${BENCH_REPEAT:-3}
DUCKDB_VERSION=2.0.1
PYARROW_VERSION=26.0.1
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

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c "import duckdb, pyarrow; assert duckdb.__version__ == '$DUCKDB_VERSION' and pyarrow.__version__ == '$PYARROW_VERSION'" 2>/dev/null; then
    log "installing duckdb==$DUCKDB_VERSION and pyarrow==$PYARROW_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "duckdb==$DUCKDB_VERSION" "pyarrow==$PYARROW_VERSION"
fi

SHAPES=(lakeship pyarrow pyarrow-large)
OBJECTS=("$OBJECT" "${OBJECT%.parquet}.pyarrow.parquet" "${OBJECT%.parquet}.pyarrow-large.parquet")
for i in 1 2; do
    if [[ ! -f "${OBJECTS[$i]}" || "${OBJECTS[$i]}" -ot "$OBJECT" ]]; then
        log "writing the same rows with pyarrow $PYARROW_VERSION (shape ${SHAPES[$i]})"
        "$VENV/bin/python" - "$OBJECT" "${OBJECTS[$i]}" "${SHAPES[$i]}" <<'PY'
import sys
import pyarrow as pa
import pyarrow.parquet as pq
source, target, shape = sys.argv[1:]
table = pq.read_table(source)
if shape == "pyarrow-large":
    def large(data_type):
        if pa.types.is_string(data_type):
            return pa.large_string()
        if pa.types.is_struct(data_type):
            return pa.struct([field.with_type(large(field.type)) for field in data_type])
        if pa.types.is_list(data_type):
            return pa.list_(data_type.value_field.with_type(large(data_type.value_type)))
        return data_type
    table = table.cast(pa.schema([field.with_type(large(field.type)) for field in table.schema]))
pq.write_table(table, target, row_group_size=131_072, compression="zstd")
PY
    fi
done

# What each shape holds (first row group): the writer, how many leaf columns
# have a dictionary page, the column encodings, the Arrow string types.
"$VENV/bin/python" - "${SHAPES[@]}" "${OBJECTS[@]}" <<'PY'
import sys
from collections import Counter
import pyarrow.parquet as pq
half = (len(sys.argv) - 1) // 2
for shape, path in zip(sys.argv[1:1 + half], sys.argv[1 + half:]):
    file = pq.ParquetFile(path)
    group = file.metadata.row_group(0)
    columns = [group.column(i) for i in range(group.num_columns)]
    encodings = Counter("+".join(sorted(column.encodings)) for column in columns)
    strings = Counter(str(field.type) for field in file.schema_arrow if str(field.type) in ("string", "large_string"))
    dictionary = sum(column.has_dictionary_page for column in columns)
    print(f"shape {shape}: {file.metadata.created_by}; {len(columns)} leaf columns, {dictionary} with a dictionary page; "
          f"encodings {dict(encodings)}; top-level string columns {dict(strings)}")
PY

duckdb_run() { # OBJECT THREADS SHAPE
    "$VENV/bin/python" - "$1" "$2" "$3" <<'PY'
import json, resource, sys, time
import duckdb
path, threads, shape = sys.argv[1], int(sys.argv[2]), sys.argv[3]
con = duckdb.connect()
con.execute(f"SET threads={threads}")
con.execute("SET enable_progress_bar=false")
rows = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]
started = time.perf_counter()
con.execute(f"COPY (SELECT * FROM read_parquet('{path}')) TO '/dev/null' (FORMAT JSON)")
seconds = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"tool": "duckdb", "shape": shape, "threads": threads, "rows": rows, "seconds": round(seconds, 3),
                  "rows_per_sec": round(rows / seconds), "peak_rss_bytes": rss}))
PY
}

results=$(mktemp)
trap 'rm -f "$results"' EXIT
shape_run() { # OBJECT SHAPE ARGS...: lakeship's run with the shape added to its JSON line
    "$BENCH_BIN" "$1" "${@:3}" | sed "s/^{/{\"shape\":\"$2\",/"
}
log "converting, best of $REPEAT (load average $(cut -d' ' -f1-3 /proc/loadavg))"
for threads in 1 2; do
    for _ in $(seq "$REPEAT"); do
        for i in "${!SHAPES[@]}"; do
            shape_run "${OBJECTS[$i]}" "${SHAPES[$i]}" --threads "$threads" >>"$results"
            duckdb_run "${OBJECTS[$i]}" "$threads" "${SHAPES[$i]}" >>"$results"
        done
    done
done
for i in "${!SHAPES[@]}"; do
    shape_run "${OBJECTS[$i]}" "${SHAPES[$i]}" --threads 1 --decode-only >>"$results"
done

python3 - "$results" "${SHAPES[@]}" "${OBJECTS[@]}" <<'PY'
import json, os, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
best = {}
for run in runs:
    key = (run["shape"], run["tool"], run["threads"])
    if key not in best or run["rows_per_sec"] > best[key]["rows_per_sec"]:
        best[key] = run
half = (len(sys.argv) - 2) // 2
load = os.getloadavg()
print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min)")
for shape, path in zip(sys.argv[2:2 + half], sys.argv[2 + half:]):
    size = os.path.getsize(path)
    rows = best[(shape, "lakeship", 1)]["rows"]
    print(f"shape {shape}: {path} ({size / 1e6:.1f} MB, {rows:,} rows); best of the runs per configuration")
    print(f"  {'tool':<24} {'threads':>7} {'rows/s':>12} {'seconds':>8} {'peak RSS':>10}")
    for (s, tool, threads), run in sorted(best.items()):
        if s == shape:
            print(f"  {tool:<24} {threads:>7} {run['rows_per_sec']:>12,} {run['seconds']:>8.3f} {run['peak_rss_bytes'] / 2**20:>8.0f} MB")
    l1, l2 = best[(shape, "lakeship", 1)]["rows_per_sec"], best[(shape, "lakeship", 2)]["rows_per_sec"]
    d1, d2 = best[(shape, "duckdb", 1)]["rows_per_sec"], best[(shape, "duckdb", 2)]["rows_per_sec"]
    print(f"  lakeship / duckdb, 1 thread:  {l1 / d1:.2f}x")
    print(f"  lakeship / duckdb, 2 threads: {l2 / d2:.2f}x")
    print(f"  lakeship scaling, 2 threads / 1 thread: {l2 / l1:.2f}x")
PY
