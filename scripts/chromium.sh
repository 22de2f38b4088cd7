#!/usr/bin/env bash
# Headless Chromium for the test that opens a rendered dashboard in a browser
# (crates/lakeship-cli/tests/render.rs). `install` is a no-op when a Chromium is
# on PATH; otherwise it installs Debian's package (as root, or with sudo).
set -euo pipefail
LAKESHIP_SCRIPT=chromium.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

found() {
    command -v chromium || command -v chromium-browser || command -v google-chrome
}

case "${1:-install}" in
    install)
        if browser=$(found); then
            log "$("$browser" --version 2>/dev/null || echo "$browser") is installed"
            exit 0
        fi
        command -v apt-get >/dev/null || die "no Chromium on PATH and no apt-get: install Chromium (or Chrome) by hand"
        sudo=()
        [[ $(id -u) == 0 ]] || sudo=(sudo)
        log "installing Debian's chromium (first time only, ~100 MB)"
        mkdir -p "$LAKESHIP_ROOT/target"
        apt_log="$LAKESHIP_ROOT/target/chromium-install.log"
        "${sudo[@]}" apt-get update -qq >"$apt_log" 2>&1 || log "apt-get update failed; trying the install with the lists there are"
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >>"$apt_log" 2>&1 \
            || { tail -n 20 "$apt_log" >&2; die "apt-get install chromium failed (log: $apt_log)"; }
        browser=$(found) || die "chromium installed, but not on PATH"
        log "$("$browser" --version 2>/dev/null) installed"
        ;;
    *) die "usage: scripts/chromium.sh install" ;;
esac
