#!/usr/bin/env bash
# The one test command (`make test`, `.ci/run`): installs what is missing, starts
# the real services the tests talk to (OpenSearch on 127.0.0.1:9200, moto's S3/SQS/
# Step Functions endpoint on 127.0.0.1:5000), runs the whole Rust test suite, and
# always stops the services again. Exits non-zero on any failure.
#
# Extra arguments go to `cargo test`, e.g. `scripts/test.sh -p lakeship-tests --test smoke`.
set -euo pipefail

LAKESHIP_SCRIPT=test.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAKESHIP_ROOT"

command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"
command -v java >/dev/null || die "java not found: install a Java 17 JDK first"
command -v mvn >/dev/null || die "mvn not found: install Maven first"
command -v python3 >/dev/null || die "python3 not found: install Python 3.9+ first"

stop_services() {
    local status=$? dir
    # Also nodes that tests started for themselves (throttling, restarts).
    for dir in "$LAKESHIP_SERVICES"/opensearch-*/; do
        [[ -d "$dir" ]] || continue
        dir=${dir%/}
        [[ "${dir##*/opensearch-}" == main ]] || scripts/opensearch.sh stop --name "${dir##*/opensearch-}" || status=1
    done
    scripts/opensearch.sh stop || status=1
    # ---- scripts/lambda (state machine tests): moto servers they started on other ports ----
    for port in "$LAKESHIP_SERVICES"/moto/moto-*.pid; do
        [[ -f "$port" ]] || continue
        port=${port##*/moto-}
        port=${port%.pid}
        [[ "$port" == 5000 ]] || scripts/moto.sh stop --port "$port" || status=1
    done
    # ---- end scripts/lambda ----
    scripts/moto.sh stop || status=1
    exit "$status"
}
trap stop_services EXIT
trap 'exit 130' INT TERM

started=$(date +%s)
# Start both services at once; each script installs what it needs first.
scripts/moto.sh start &
moto_pid=$!
scripts/opensearch.sh start
wait "$moto_pid" || die "moto did not start"
echo "test.sh: services up in $(( $(date +%s) - started ))s"
curl -sf http://127.0.0.1:9200/ | python3 -c 'import json,sys; v=json.load(sys.stdin)["version"]; print("test.sh: OpenSearch reports distribution", v["distribution"], "version", v["number"])'

export LAKESHIP_TEST_OPENSEARCH=${LAKESHIP_TEST_OPENSEARCH:-http://127.0.0.1:9200}
export LAKESHIP_TEST_AWS_ENDPOINT=${LAKESHIP_TEST_AWS_ENDPOINT:-http://127.0.0.1:5000}
# ---- scripts/lambda: static checks of the deployable parts (asl-validator, cfn-lint) ----
scripts/lambda/validate.sh
# ---- end scripts/lambda ----
cargo test --workspace --locked "$@"
