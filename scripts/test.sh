#!/usr/bin/env bash
# The one test command (`make test`, `.ci/run`): installs what is missing, starts
# the real services the tests talk to (OpenSearch on 127.0.0.1:9200, moto's S3/SQS/
# Step Functions endpoint on 127.0.0.1:5000), lints (rustfmt; clippy during the build), checks the
# state machine and the stack, runs the whole Rust test suite (with the `services`
# feature, which the tests that need these services or tools require; a plain
# `cargo test --workspace` runs the others, offline), and always stops the
# services again. Exits non-zero on any failure. At the end it prints where the
# time went: tool installs, services, lint, the workspace build, each test binary.
#
# Extra arguments go to `cargo test`, e.g. `scripts/test.sh -p lakeship-tests --test smoke`
# (then lint and the static checks are skipped: only what you asked for runs).
set -euo pipefail

LAKESHIP_SCRIPT=test.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAKESHIP_ROOT"

command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"
command -v java >/dev/null || die "java not found: install a Java 17 JDK first"
command -v mvn >/dev/null || die "mvn not found: install Maven first"
command -v python3 >/dev/null || die "python3 not found: install Python 3.9+ first"

TIMINGS="$LAKESHIP_ROOT/target/test-timings.tsv"
mkdir -p "$LAKESHIP_ROOT/target"
: >"$TIMINGS"

# step NAME CMD...: run CMD, record how long it took and whether it passed.
step() {
    local name=$1 started status=0
    shift
    started=$(date +%s.%N)
    "$@" || status=$?
    scripts/timing.py record "$TIMINGS" "$name" "$started" "$(date +%s.%N)" "$( ((status == 0)) && echo ok || echo "FAILED (exit $status)")"
    return "$status"
}

stop_services() {
    local status=$? dir started
    started=$(date +%s.%N)
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
    scripts/timing.py record "$TIMINGS" "services: stop" "$started" "$(date +%s.%N)" ok
    scripts/timing.py report "$TIMINGS"
    if ((status == 0)); then echo "test.sh: all passed"; else echo "test.sh: FAILED (exit $status)"; fi
    exit "$status"
}
trap stop_services EXIT
trap 'exit 130' INT TERM

# ---- tools (each a no-op when already installed) ----
step "install: moto + cfn-lint (.venv)" scripts/moto.sh install
step "install: OpenSearch node launcher (Maven)" scripts/opensearch.sh install
step "install: OpenSearch 3.x node launcher (Maven, Java 21+)" env OPENSEARCH_VERSION=3.9.0 scripts/opensearch.sh install
step "install: asl-validator (npm)" scripts/lambda/validate.sh --install
step "install: headless Chromium (Debian)" scripts/chromium.sh install

# ---- services start in the background while the workspace is linted and built ----
services_started=$(date +%s.%N)
(
    scripts/moto.sh start &
    moto_pid=$!
    # OpenSearch 3.x for crates/lakeship-cli/tests/opensearch3.rs (stop_services stops it with the other named nodes).
    OPENSEARCH_VERSION=3.9.0 scripts/opensearch.sh start --name os3 --port 9201 &
    os3_pid=$!
    scripts/opensearch.sh start
    wait "$moto_pid"
    wait "$os3_pid"
) >"$LAKESHIP_ROOT/target/services-start.log" 2>&1 &
services_pid=$!

if [[ $# -eq 0 ]]; then
    step "lint: cargo fmt --check &" cargo fmt --all --check
    step "check: asl-validator, cfn-lint &" scripts/lambda/validate.sh
    # Clippy lints the workspace crates while they are built for the tests, in
    # one build: clippy-driver is a drop-in rustc that adds clippy's lints
    # (the Clippy book, https://doc.rust-lang.org/clippy/usage.html, "Using
    # Clippy without cargo: clippy-driver"; its artifacts serve the tests only:
    # `make package` and the benchmarks build without it), and Cargo runs
    # RUSTC_WORKSPACE_WRAPPER in place of rustc for the workspace's own crates
    # only (https://doc.rust-lang.org/cargo/reference/environment-variables.html).
    # `cargo clippy` does the same over a `cargo check`, which would compile
    # every dependency a second time (about 5 of CI's minutes). The lint levels,
    # warnings denied, are the [workspace.lints] table of Cargo.toml, which Cargo
    # passes to every compilation of those crates (no CLIPPY_ARGS, no RUSTFLAGS,
    # which would rebuild the dependencies); so `cargo clippy --workspace
    # --all-targets --features services` by hand reports the same findings. The
    # test run below keeps the wrapper (and the feature), so it reuses this build.
    export RUSTC_WORKSPACE_WRAPPER
    RUSTC_WORKSPACE_WRAPPER=$(command -v clippy-driver) || die "clippy-driver not found: rustup component add clippy"
    step "build + lint: cargo test --no-run, clippy -D warnings &" cargo test --workspace --all-targets --locked --features services --no-run
else
    step "build: cargo test --no-run &" cargo test --workspace --locked --features services --no-run "$@"
fi

services_status=0
wait "$services_pid" || services_status=$?
cat "$LAKESHIP_ROOT/target/services-start.log"
scripts/timing.py record "$TIMINGS" "services: start OpenSearch + moto &" "$services_started" "$(date +%s.%N)" \
    "$( ((services_status == 0)) && echo ok || echo FAILED)"
((services_status == 0)) || die "the services did not start"
curl -sf http://127.0.0.1:9200/ | python3 -c 'import json,sys; v=json.load(sys.stdin)["version"]; print("test.sh: OpenSearch reports distribution", v["distribution"], "version", v["number"])'

export LAKESHIP_TEST_OPENSEARCH=${LAKESHIP_TEST_OPENSEARCH:-http://127.0.0.1:9200}
export LAKESHIP_TEST_AWS_ENDPOINT=${LAKESHIP_TEST_AWS_ENDPOINT:-http://127.0.0.1:5000}
export LAKESHIP_TEST_OPENSEARCH3=${LAKESHIP_TEST_OPENSEARCH3:-http://127.0.0.1:9201}
# --no-fail-fast: every test binary runs, so one failure does not hide another.
cargo test --workspace --locked --features services --no-fail-fast "$@" 2>&1 | scripts/timing.py tests "$TIMINGS"
