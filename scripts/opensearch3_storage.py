#!/usr/bin/env python3
"""What OpenSearch 3.x's storage options do to Lakeship's documents, measured
on a real node (docs/templates.md, "OpenSearch 3.x").

Generates OCSF Network Activity documents (`lakeship sample` + `lakeship
convert`), takes the mapping and settings the templates give their index
(`_index_template/_simulate`), and indexes the same documents into one index
per variant: the templates as they are (`best_compression`), `zstd`,
`zstd_no_dict`, and derived source (`index.derived_source.enabled`). Each
index is refreshed, force-merged to one segment and its primary store
measured. Derived source is first tried on the templates' own mapping (what
it refuses is printed), then on that mapping less what it refused; its
documents are read back and compared with what was indexed.

    OPENSEARCH_VERSION=3.9.0 scripts/opensearch.sh start --name os3 --port 9500
    cargo build --workspace --locked
    scripts/opensearch3_storage.py --endpoint http://127.0.0.1:9500
"""

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def request(endpoint, method, path, body=None, ndjson=False):
    data = None
    headers = {}
    if body is not None:
        data = body.encode() if ndjson else json.dumps(body).encode()
        headers["content-type"] = "application/x-ndjson" if ndjson else "application/json"
    req = urllib.request.Request(f"{endpoint}/{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=600) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def documents(lakeship, rows, version, scratch):
    lake = os.path.join(scratch, "lake")
    out = os.path.join(scratch, "docs.ndjson")
    subprocess.run([lakeship, "sample", "--out", lake, "--classes", "network", "--versions", version,
                    "--rows", str(rows), "--end-time", "2026-12-01T00:00:00Z"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([lakeship, "convert", lake, "-o", out], check=True, stdout=subprocess.DEVNULL)
    with open(out) as file:
        return [line for line in file.read().splitlines() if line]


def template_of(endpoint, lakeship, name):
    """Installs the index template NAME and its component templates; returns its composed settings and mappings."""
    plan = subprocess.run([lakeship, "templates", "plan"], check=True, capture_output=True, text=True).stdout
    requests = [json.loads(line) for line in plan.splitlines() if line]
    index_template = next(r for r in requests if r["path"] == f"_index_template/{name}")
    wanted = {f"_component_template/{c}" for c in index_template["body"]["composed_of"]}
    for r in requests:
        if r["path"] in wanted or r is index_template:
            status, answer = request(endpoint, r["method"], r["path"], r.get("body"))
            assert status == 200, (r["path"], answer)
    status, answer = request(endpoint, "POST", f"_index_template/_simulate/{name}")
    assert status == 200, answer
    return answer["template"]["settings"], answer["template"]["mappings"]


def strip(mappings, refused):
    """The mapping less what derived source refused: `ignore_above`, `doc_values: false` (doc values
    back on), and `flat_object` and `alias` fields."""
    mappings = copy.deepcopy(mappings)

    def walk(properties):
        for name in list(properties):
            field = properties[name]
            if "ignore_above" in refused:
                field.pop("ignore_above", None)
            if "doc_values: false" in refused and field.get("doc_values") is False:
                del field["doc_values"]
            if field.get("type") in refused:
                del properties[name]
                continue
            for sub in ("properties", "fields"):
                if sub in field:
                    walk(field[sub])

    walk(mappings["properties"])
    return mappings


def refusal(answer):
    reason = json.dumps(answer.get("error", answer))
    for feature, marker in (("ignore_above", "ignore_above"), ("flat_object", "flat_object"), ("alias", "Derived source field is not supported for"),
                            ("doc_values: false", "stored and docValues disabled")):
        if marker in reason:
            return feature, answer["error"].get("reason", reason)
    return None, answer["error"].get("reason", reason) if isinstance(answer, dict) else reason


def index_variant(endpoint, name, settings, mappings, docs):
    request(endpoint, "DELETE", name)
    status, answer = request(endpoint, "PUT", name, {"settings": settings, "mappings": mappings})
    if status != 200:
        return None, answer
    for start in range(0, len(docs), 2000):
        body = "".join(f'{{"index":{{"_id":"{i}"}}}}\n{docs[i]}\n' for i in range(start, min(start + 2000, len(docs))))
        status, answer = request(endpoint, "POST", f"{name}/_bulk", body, ndjson=True)
        assert status == 200 and not answer["errors"], json.dumps(answer)[:2000]
    request(endpoint, "POST", f"{name}/_refresh")
    request(endpoint, "POST", f"{name}/_forcemerge?max_num_segments=1")
    # The merged-away segments' files go only once no reader holds them: wait for one
    # segment and a store size that no longer changes.
    last = None
    for _ in range(60):
        request(endpoint, "POST", f"{name}/_refresh")
        request(endpoint, "POST", f"{name}/_flush")
        _, stats = request(endpoint, "GET", f"{name}/_stats/store,docs,segments")
        primaries = stats["indices"][name]["primaries"]
        size = primaries["store"]["size_in_bytes"]
        if primaries["segments"]["count"] == 1 and size == last:
            break
        last = size
        time.sleep(1)
    assert primaries["docs"]["count"] == len(docs), primaries
    return size, None


def differences(original, returned, path=""):
    """Paths where `returned` differs from `original`, with both values."""
    if isinstance(original, dict) and isinstance(returned, dict):
        out = []
        for key in sorted(set(original) | set(returned)):
            sub = f"{path}.{key}" if path else key
            if key not in returned:
                out.append((sub, original[key], "(missing)"))
            elif key not in original:
                out.append((sub, "(absent)", returned[key]))
            else:
                out.extend(differences(original[key], returned[key], sub))
        return out
    return [] if original == returned else [(path, original, returned)]


def only_empty_objects(value):
    return isinstance(value, dict) and all(only_empty_objects(v) for v in value.values())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default="http://127.0.0.1:9500")
    parser.add_argument("--lakeship", default=os.path.join(os.path.dirname(__file__), "..", "target", "debug", "lakeship"))
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--ocsf", default="1.1.0")
    parser.add_argument("--show", type=int, default=12, help="differences of one document to print")
    args = parser.parse_args()

    _, banner = request(args.endpoint, "GET", "")
    print(f"OpenSearch {banner['version']['number']} at {args.endpoint}; OCSF {args.ocsf} Network Activity, {args.rows} documents")
    with tempfile.TemporaryDirectory() as scratch:
        docs = documents(args.lakeship, args.rows, args.ocsf, scratch)
    template = f"ocsf-{args.ocsf}-4001-network_activity"
    settings, mappings = template_of(args.endpoint, args.lakeship, template)
    settings = settings["index"]
    settings.pop("lifecycle", None)
    settings.update({"number_of_shards": "1", "number_of_replicas": "0"})

    variants = [
        ("templates (best_compression)", settings, mappings),
        ("templates, codec zstd", {**settings, "codec": "zstd"}, mappings),
        ("templates, codec zstd_no_dict", {**settings, "codec": "zstd_no_dict"}, mappings),
        ("templates, default codec (LZ4)", {k: v for k, v in settings.items() if k != "codec"}, mappings),
    ]
    derived = {**settings, "derived_source": {"enabled": "true"}}
    refused = []
    while True:
        status, answer = request(args.endpoint, "PUT", "bench3-probe", {"settings": derived, "mappings": strip(mappings, refused)})
        request(args.endpoint, "DELETE", "bench3-probe")
        if status == 200:
            break
        feature, reason = refusal(answer)
        print(f"derived source refuses the mapping{' less ' + ', '.join(refused) if refused else ''}: {reason}")
        if feature is None or feature in refused:
            sys.exit("derived source refuses something else; stopping")
        refused.append(feature)
    accepted = strip(mappings, refused)
    variants += [
        (f"derived source, mapping less {', '.join(refused)}", derived, accepted),
        (f"stored source, mapping less {', '.join(refused)}", settings, accepted),
    ]

    bytes_per_doc = {}
    for number, (label, variant_settings, variant_mappings) in enumerate(variants):
        size, error = index_variant(args.endpoint, f"bench3-{number}", variant_settings, variant_mappings, docs)
        if size is None:
            print(f"{label:48} refused: {error.get('error', {}).get('reason', error)}")
            continue
        bytes_per_doc[label] = size / len(docs)
        print(f"{label:48} {size:>10} bytes  {size / len(docs):7.1f} B/doc")

    derived_index = f"bench3-{len(variants) - 2}"
    sample = list(range(0, len(docs), max(1, len(docs) // 500)))
    _, answer = request(args.endpoint, "POST", f"{derived_index}/_mget", {"ids": [str(i) for i in sample]})
    changed, num_empty, shown, num_observables, num_mispaired = 0, 0, 0, 0, 0
    for i, hit in zip(sample, answer["docs"]):
        original = json.loads(docs[i])
        diff = differences(original, hit["_source"])
        if isinstance(original.get("observables"), list):
            num_observables += 1
            pairs = sorted((o.get("name"), o.get("value")) for o in original["observables"])
            returned = hit["_source"].get("observables", {})
            if isinstance(returned, dict):
                names, values = returned.get("name"), returned.get("value")
                names = names if isinstance(names, list) else [names]
                values = values if isinstance(values, list) else [values]
                num_mispaired += sorted(zip(names, values)) != pairs
        changed += bool(diff)
        # Objects the document did not have, returned holding only empty objects.
        empty = [d for d in diff if d[1] == "(absent)" and only_empty_objects(d[2])]
        num_empty += bool(empty)
        rest = [d for d in diff if d not in empty]
        if rest and shown < 1:
            shown += 1
            print(f"document {i}: {len(empty)} object(s) added holding only empty objects, and:")
            for path, before, after in rest[:args.show]:
                print(f"  {path}: indexed {json.dumps(before)[:300]}\n  {'':{len(path)}}  returned {json.dumps(after)[:300]}")
    print(f"derived source: {changed} of {len(sample)} documents read back (_mget) differ from what was indexed"
          f" ({num_empty} with empty objects added)")
    print(f"observables: in {num_mispaired} of {num_observables} documents, pairing the returned name and value"
          " arrays does not give the indexed (name, value) pairs")
    for number in range(len(variants)):
        request(args.endpoint, "DELETE", f"bench3-{number}")


if __name__ == "__main__":
    main()
