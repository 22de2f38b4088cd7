#!/usr/bin/env bash
# Builds the Lambda functions (the four binaries of the lakeship-lambda crate,
# functions/lambda) for provided.al2023 on arm64 (Graviton) with `cargo lambda`,
# stripped, and zips each as bootstrap.zip:
#
#   target/lambda/lakeship-dispatcher/bootstrap.zip
#   target/lambda/lakeship-worker/bootstrap.zip
#   target/lambda/lakeship-finalizer/bootstrap.zip
#   target/lambda/lakeship-starter/bootstrap.zip   (cross-account subscriber queues)
#
# Stripping: the release profile keeps line tables (debug = "line-tables-only")
# for local backtraces, and cargo-lambda strips release builds only when the
# profile has no debug info, so the bootstraps were ~70-120 MiB. Symbols and
# debug sections are of no use in Lambda (a panic's message still names its
# file and line), cost download and unzip time at every cold start and count
# against the 250 MiB unzipped limit, so this build sets the release profile's
# `strip` to "symbols" through cargo's environment (the workspace profile, used
# by the CLI and the benchmarks, is unchanged). CARGO_PROFILE_RELEASE_STRIP=none
# keeps them (to symbolize an address from a crash report).
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
FUNCTIONS=(lakeship-dispatcher lakeship-worker lakeship-finalizer lakeship-starter)
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
binaries=()
for function in "${FUNCTIONS[@]}"; do
    binaries+=(--bin "$function")
done
export CARGO_PROFILE_RELEASE_STRIP="${CARGO_PROFILE_RELEASE_STRIP:-symbols}"
log "cargo lambda build --release --arm64, strip=$CARGO_PROFILE_RELEASE_STRIP (${FUNCTIONS[*]})"
cargo lambda build --release --arm64 --output-format zip --lambda-dir "$OUT" --package lakeship-lambda "${binaries[@]}"

for function in "${FUNCTIONS[@]}"; do
    zip="$OUT/$function/bootstrap.zip"
    [[ -f "$zip" ]] || die "missing $zip"
    python3 - "$zip" "$CARGO_PROFILE_RELEASE_STRIP" <<'EOF' || die "$zip is not a Lambda zip with an arm64 bootstrap (stripped unless strip=none)"
import struct, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    info = archive.getinfo("bootstrap")
    data = archive.read("bootstrap")
assert data[:6] == b"\x7fELF\x02\x01" and struct.unpack_from("<H", data, 18)[0] == 183, "not a 64-bit little-endian aarch64 ELF"
assert (info.external_attr >> 16) & 0o111, "bootstrap is not executable"
# Section names, from the section headers and their string table.
shoff, = struct.unpack_from("<Q", data, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
header = lambda i: struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
_, _, _, _, names_at, names_size = header(shstrndx)
names = data[names_at:names_at + names_size]
sections = [names[header(i)[0]:names.index(b"\0", header(i)[0])].decode() for i in range(shnum)]
# .debug_gdb_scripts is loaded with the program (a few bytes naming gdb helpers): strip keeps it.
left = [n for n in sections if n == ".symtab" or (n.startswith(".debug") and n != ".debug_gdb_scripts")]
assert sys.argv[2] == "none" or not left, f"not stripped: {left}"
print(f"{sys.argv[1]}: bootstrap {info.file_size / 2**20:.1f} MiB, zip {info.compress_size / 2**20:.1f} MiB")
EOF
done
log "packaged in $(( $(now_s) - started ))s"
