#!/usr/bin/env bash
# Deep, coverage-guided fuzzing of Lakeship's footer decoding, planning and
# conversion (`lakeship::fuzzing::run_object`) with cargo-fuzz: libFuzzer and
# AddressSanitizer on a nightly toolchain. `make test` runs a bounded, seeded
# mutation fuzzer over the same function on stable (tests/tests/fuzz.rs); this
# is for long local sessions.
#
#   scripts/fuzz.sh [SECONDS] [-- libFuzzer options]     # default 1200 s (20 minutes)
#
# The corpus starts from the Security Lake samples and the poison fixtures
# (tests/fixtures/); it grows in target/fuzz/corpus/ (scratch, not committed).
# A crash is written to target/fuzz/artifacts/; replay it with
#   cargo +nightly fuzz run --fuzz-dir fuzz object target/fuzz/artifacts/<file>
# Keep what it found as a small regression fixture in tests/fixtures/poison/
# (with a line in its README.md) once fixed. Installs cargo-fuzz (pinned) if missing.
set -euo pipefail

LAKESHIP_SCRIPT=fuzz.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAKESHIP_ROOT"

CARGO_FUZZ_VERSION=0.13.2
seconds=${1:-1200}
shift || true
[[ "${1:-}" == "--" ]] && shift

rustup toolchain list | grep -q '^nightly' || die "a nightly toolchain is needed: rustup toolchain install nightly"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

corpus=target/fuzz/corpus/object
mkdir -p "$corpus" target/fuzz/artifacts
seeds=0
while IFS= read -r -d '' file; do
    cp -n "$file" "$corpus/seed-$(basename "$(dirname "$file")")-$(basename "$file")"
    seeds=$((seeds + 1))
done < <(find tests/fixtures/security-lake-samples tests/fixtures/poison -name '*.parquet' -print0)
log "corpus $corpus ($seeds seed files, $(find "$corpus" -type f | wc -l) inputs); fuzzing for $seconds s"

exec cargo +nightly fuzz run --fuzz-dir fuzz --target-dir target/fuzz/build object "$corpus" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=30 -max_len=65536 \
    -artifact_prefix=target/fuzz/artifacts/ -print_final_stats=1 "$@"
