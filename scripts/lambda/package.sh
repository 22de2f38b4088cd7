#!/usr/bin/env bash
# Builds the three Lambda functions for provided.al2023 on arm64 (Graviton) with
# `cargo lambda` and zips each as bootstrap.zip:
#
#   target/lambda/lakeship-dispatcher/bootstrap.zip
#   target/lambda/lakeship-worker/bootstrap.zip
#   target/lambda/lakeship-finalizer/bootstrap.zip
#
# Installs what is missing first: cargo-lambda (pinned, with zig through the
# `ziglang` wheel) into the project's .venv/, and the Rust target
# aarch64-unknown-linux-gnu.
#
# usage: scripts/lambda/package.sh        (`make package`)
set -euo pipefail

LAKESHIP_SCRIPT=package.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$LAKESHIP_ROOT"

CARGO_LAMBDA_VERSION=1.9.2
TARGET=aarch64-unknown-linux-gnu
FUNCTIONS=(lakeship-dispatcher lakeship-worker lakeship-finalizer)
VENV="$LAKESHIP_ROOT/.venv"
OUT="$LAKESHIP_ROOT/target/lambda"

require_cmd cargo rustup python3
if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating virtualenv $VENV"
    python3 -m venv "$VENV" || die "'python3 -m venv' failed (on Debian's own python: apt-get install python3-venv)"
fi
if [[ "$("$VENV/bin/cargo-lambda" lambda --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LAMBDA_VERSION" ]]; then
    log "installing cargo-lambda $CARGO_LAMBDA_VERSION (and zig) into .venv/"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "cargo-lambda==$CARGO_LAMBDA_VERSION" >&2 \
        || die "pip install cargo-lambda==$CARGO_LAMBDA_VERSION failed"
fi
if ! rustup target list --installed | grep -qx "$TARGET"; then
    log "adding the Rust target $TARGET"
    rustup target add "$TARGET" >&2
fi

# cargo-lambda finds zig through the venv's python (`python -m ziglang`).
export PATH="$VENV/bin:$PATH"
started=$(now_s)
packages=()
for function in "${FUNCTIONS[@]}"; do
    packages+=(--package "$function")
done
log "cargo lambda build --release --arm64 (${FUNCTIONS[*]})"
cargo lambda build --release --arm64 --output-format zip --lambda-dir "$OUT" "${packages[@]}"

for function in "${FUNCTIONS[@]}"; do
    zip="$OUT/$function/bootstrap.zip"
    [[ -f "$zip" ]] || die "missing $zip"
    python3 - "$zip" <<'EOF' || die "$zip is not a Lambda zip with an arm64 bootstrap"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    info = archive.getinfo("bootstrap")
    head = archive.read("bootstrap")[:20]
    assert head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == 183, "not an aarch64 ELF"
    assert (info.external_attr >> 16) & 0o111, "bootstrap is not executable"
    print(f"{sys.argv[1]}: bootstrap {info.file_size / 2**20:.1f} MiB, zip {info.compress_size / 2**20:.1f} MiB")
EOF
done
log "packaged in $(( $(now_s) - started ))s"
