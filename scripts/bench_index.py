"""The runs and the table of `make bench-index` (see scripts/bench-index.sh).

For every mapping variant (OpenSearch's dynamic mapping, or a templates
folder) and every class, the class's bulk body is replayed into empty
`ocsf-*` indices with the variant's templates installed (none for dynamic),
timed; then the index is refreshed, counted, force-merged to one segment and
its primary store measured, with Lucene's per-file-type sizes. Variants
alternate within each round; docs/s is the best of the rounds, store bytes
are from the last round (a force-merged index of the same documents is the
same size every time, give or take a few bytes).
"""

import argparse
import json
import os
import shutil
import subprocess
import tempfile

import bench_common as common

# Lucene file extensions and what they hold, for the breakdown.
FILE_KINDS = {
    "stored fields (_source, _id)": ("fdt", "fdx", "fdm"),
    "doc values": ("dvd", "dvm"),
    "inverted index": ("tim", "tip", "tmd", "doc", "pos", "pay"),
    "points (numbers, dates, ips)": ("kdd", "kdi", "kdm", "dii", "dim"),
    "norms": ("nvd", "nvm"),
}


def patched(base, settings, scratch):
    """A copy of the templates folder `base` with `settings` merged into
    every index template's settings."""
    target = tempfile.mkdtemp(dir=scratch)
    shutil.copytree(base, target, dirs_exist_ok=True)
    for root, _, names in os.walk(target):
        if os.path.basename(root) != "index_templates":
            continue
        for name in names:
            path = os.path.join(root, name)
            with open(path) as file:
                template = json.load(file)
            template["template"]["settings"].update(settings)
            with open(path, "w") as file:
                json.dump(template, file, indent=2)
    return target


def install(node, lakeship, variant, endpoint):
    """Leaves exactly the variant's templates on the node."""
    for kind in ("_index_template", "_component_template"):
        names = [item["name"] for item in node.request("GET", kind)[1][kind.lstrip("_") + "s"]]
        for name in names:
            node.request("DELETE", f"{kind}/{name}")
    if variant["dir"] is not None:
        subprocess.run([lakeship, "templates", "install", "--dir", variant["dir"], "--endpoint", endpoint],
                       check=True, stdout=subprocess.DEVNULL)


def replay(replay_bin, bulk, endpoint, concurrency):
    output = subprocess.run([replay_bin, bulk, "--endpoint", endpoint, "--concurrency", str(concurrency)],
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def measure(node):
    node.refresh("ocsf-*")
    node.request("POST", "ocsf-*/_forcemerge?max_num_segments=1")
    node.refresh("ocsf-*")
    stats = node.request("GET", "ocsf-*/_stats/docs,store,segments?include_segment_file_sizes=true")[1]["_all"]["primaries"]
    files = {name: size["size_in_bytes"] for name, size in stats["segments"].get("file_sizes", {}).items()}
    kinds = {kind: sum(files.get(ext, 0) for ext in exts) for kind, exts in FILE_KINDS.items()}
    kinds["other"] = sum(files.values()) - sum(kinds.values())
    fields = 0
    for mapping in node.request("GET", "ocsf-*/_mapping")[1].values():
        fields += count_fields(mapping["mappings"].get("properties", {}))
    return {"docs": stats["docs"]["count"], "store": stats["store"]["size_in_bytes"], "kinds": kinds, "fields": fields}


def count_fields(properties):
    return sum(1 + count_fields(m.get("properties", {})) + len(m.get("fields", {})) for m in properties.values())


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--endpoint", "--lakeship", "--replay"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--class", dest="classes", action="append", required=True, help="NAME=BULK_FILE")
    parser.add_argument("--variant", dest="variants", action="append", required=True,
                        help="NAME=dynamic, NAME=TEMPLATES_DIR, or NAME=TEMPLATES_DIR+{settings JSON for every index template}")
    parser.add_argument("--reference", help="the variant the others are compared with (default: the second)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    node = common.Node(args.endpoint)
    classes = [dict(zip(("name", "bulk"), item.split("=", 1))) for item in args.classes]
    scratch = tempfile.mkdtemp(prefix="bench-index-")
    variants = []
    for item in args.variants:
        name, where = item.split("=", 1)
        if where == "dynamic":
            where = None
        elif "+" in where:
            base, settings = where.split("+", 1)
            where = patched(base, json.loads(settings), scratch)
        variants.append({"name": name, "dir": where})
    names = [variant["name"] for variant in variants]
    reference = args.reference if args.reference in names else names[min(1, len(names) - 1)]

    results = {}
    for _ in range(args.repeat):
        for variant in variants:
            install(node, args.lakeship, variant, args.endpoint)
            for klass in classes:
                node.delete("ocsf-*")
                run = replay(args.replay, klass["bulk"], args.endpoint, args.concurrency)
                measured = measure(node)
                key = (klass["name"], variant["name"])
                best = results.get(key)
                docs_per_sec = run["docs"] / run["seconds"]
                measured.update(docs_per_sec=max(docs_per_sec, best["docs_per_sec"]) if best else docs_per_sec,
                                sent=run["docs"], bulk_bytes=run["bytes"])
                results[key] = measured
                print(f"  {klass['name']:<18} {variant['name']:<10} {docs_per_sec:>9,.0f} docs/s "
                      f"{measured['store'] / max(measured['docs'], 1):>7.1f} B/doc ({measured['docs']:,} of {run['docs']:,} docs)", flush=True)
    node.delete("ocsf-*")
    shutil.rmtree(scratch, ignore_errors=True)

    print()
    print(f"best of {args.repeat} rounds per (class, mapping); store after a force-merge to one segment, primaries")
    header = f"{'class':<18} {'mapping':<10} {'docs/s':>9} {'B/doc':>7} {'vs ' + reference:>12} "
    header += " ".join(f"{kind.split(' ')[0][:9]:>9}" for kind in list(FILE_KINDS) + ["other"]) + f" {'fields':>7} {'docs':>9}"
    print(header)
    for klass in classes:
        base = results[(klass["name"], reference)]
        for variant in variants:
            r = results[(klass["name"], variant["name"])]
            per_doc = r["store"] / max(r["docs"], 1)
            versus = f"{per_doc / (base['store'] / base['docs']) - 1:+.1%}"
            versus += f" {r['docs_per_sec'] / base['docs_per_sec'] - 1:+.0%}/s"
            kinds = " ".join(f"{size / max(r['docs'], 1):>9.1f}" for size in r["kinds"].values())
            print(f"{klass['name']:<18} {variant['name']:<10} {r['docs_per_sec']:>9,.0f} {per_doc:>7.1f} {versus:>12} {kinds} {r['fields']:>7} {r['docs']:>9,}")
    print(f"(vs {reference}: store bytes per document, then docs/s; the per-file-type columns are bytes per document:")
    print(" stored fields (_source, _id), doc values, inverted index, points, norms, other)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump([{"class": c, "mapping": v, **r} for (c, v), r in results.items()], out, indent=1)


if __name__ == "__main__":
    main()
