#!/usr/bin/env bash
# Builds a benchmark binary of crates/lakeship/benches (release profile) and
# prints its path: scripts/bench-bin.sh NAME
set -euo pipefail
LAKESHIP_SCRIPT=bench-bin.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAKESHIP_ROOT"
[[ $# -eq 1 ]] || die "usage: scripts/bench-bin.sh NAME"
NAME=$1
cargo bench --quiet -p lakeship --bench "$NAME" --no-run 2>/dev/null
BIN=$(cargo bench -p lakeship --bench "$NAME" --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for line in sys.stdin:
    m=json.loads(line)
    if m.get("reason")=="compiler-artifact" and m.get("target",{}).get("name")==sys.argv[1] and m.get("executable"): print(m["executable"])' "$NAME" | tail -n 1)
[[ -x "$BIN" ]] || die "could not find the benchmark binary $NAME"
printf '%s\n' "$BIN"
