"""Helpers shared by the benchmark harnesses (scripts/bench_*.py): a tiny
OpenSearch client on the standard library, and formatting."""

import json
import os
import urllib.error
import urllib.request


class Node:
    """An OpenSearch node reached over plain HTTP on loopback."""

    def __init__(self, endpoint):
        self.endpoint = endpoint.rstrip("/")

    def request(self, method, path, body=None, ok=(200,)):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.endpoint}/{path}", data=data, method=method,
                                         headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=600) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            if error.code in ok:
                return error.code, json.loads(error.read() or b"null")
            raise SystemExit(f"{method} {path} answered {error.code}: {error.read()[:500].decode(errors='replace')}")

    def delete(self, pattern):
        self.request("DELETE", f"{pattern}?expand_wildcards=all&ignore_unavailable=true&allow_no_indices=true")

    def refresh(self, pattern):
        self.request("POST", f"{pattern}/_refresh?allow_no_indices=true")

    def count(self, pattern):
        return self.request("GET", f"{pattern}/_count?allow_no_indices=true")[1]["count"]

    def exists(self, path):
        return self.request("GET", path, ok=(200, 404))[0] == 200


def tree_size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)


def human_bytes(num_bytes):
    for unit in ("B", "KB", "MB", "GB"):
        if num_bytes < 1000 or unit == "GB":
            return f"{num_bytes:.1f} {unit}" if unit != "B" else f"{num_bytes} B"
        num_bytes /= 1000
    return f"{num_bytes:.1f} GB"
