#!/usr/bin/env python3
"""Cross-checks the golden files against an independent reader (pyarrow).

For every fixture `*.parquet`, reads the rows with pyarrow, turns them into
JSON the way Lakeship documents them (nulls left out, maps as objects,
timestamps as ISO-8601 UTC with milliseconds, null list elements left out)
and compares with the `document`s of the `*.expected.ndjson` file next to it
(without the `lakeship` provenance). Needs pyarrow: `pip install pyarrow`.
"""
import datetime
import json
import pathlib
import sys

import pyarrow.parquet as pq

root = pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/security-lake-samples"


def normalise(value, arrow_type=None):
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        if value and isinstance(value[0], tuple):  # map entries
            return {k: normalise(v) for k, v in value if v is not None}
        return [normalise(v) for v in value if v is not None]
    if isinstance(value, datetime.datetime):
        value = value.astimezone(datetime.timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, float):
        return float(json.loads(json.dumps(value)))
    return value


def same(a, b):
    """Equal as JSON, with float32 values compared at float32 precision."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))
    return a == b


def main():
    num_files = num_rows = 0
    failures = []
    for path in sorted(root.rglob("*.parquet")):
        rows = [normalise(row) for row in pq.read_table(path).to_pylist()]
        expected = path.with_name(path.name[: -len(".parquet")] + ".expected.ndjson")
        docs = [json.loads(line)["document"] for line in expected.read_text().splitlines()]
        for doc in docs:
            doc.pop("lakeship", None)
        rows = json.loads(json.dumps(rows))
        for row, doc in zip(rows, docs):
            for key in set(row) | set(doc):
                a, b = row.get(key), doc.get(key)
                if not same(a, b):
                    failures.append(f"{path.relative_to(root)}: field {key}: pyarrow {a!r} vs lakeship {b!r}")
        if len(rows) != len(docs):
            failures.append(f"{path.relative_to(root)}: {len(rows)} rows vs {len(docs)} documents")
        num_files += 1
        num_rows += len(rows)
    print(f"{num_files} files, {num_rows} rows compared, {len(failures)} differences")
    for failure in failures[:50]:
        print("  " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
