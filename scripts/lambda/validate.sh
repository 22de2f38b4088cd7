#!/usr/bin/env bash
# Static checks of what `make deploy` ships: the state machine definition with
# asl-validator (npm, pinned, installed into target/tools/ on first use) and the
# CloudFormation template with cfn-lint (pinned in tests/moto-requirements.txt,
# installed into .venv/ by scripts/moto.sh). Fails on any error or warning.
#
# usage: scripts/lambda/validate.sh            (`make validate`; also run by `make test`)
#        scripts/lambda/validate.sh --install  (only install the two tools)
set -euo pipefail

LAKESHIP_SCRIPT=validate.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$LAKESHIP_ROOT"

ASL_VALIDATOR_VERSION=4.0.0
TOOLS="$LAKESHIP_ROOT/target/tools"
ASL_VALIDATOR="$TOOLS/node_modules/.bin/asl-validator"
CFN_LINT="$LAKESHIP_ROOT/.venv/bin/cfn-lint"
DEFINITIONS=(statemachine/*.asl.json)
TEMPLATES=(cloudformation/*.yaml)

installed_version() {
    node -p "require('$TOOLS/node_modules/asl-validator/package.json').version" 2>/dev/null || true
}

if [[ ! -x "$ASL_VALIDATOR" || "$(installed_version)" != "$ASL_VALIDATOR_VERSION" ]]; then
    require_cmd npm node
    log "installing asl-validator@$ASL_VALIDATOR_VERSION into target/tools/"
    mkdir -p "$TOOLS"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$TOOLS" "asl-validator@$ASL_VALIDATOR_VERSION" >&2 \
        || die "npm install asl-validator@$ASL_VALIDATOR_VERSION failed"
fi
if [[ ! -x "$CFN_LINT" ]]; then
    scripts/moto.sh install
fi
[[ "${1:-}" == --install ]] && exit 0

status=0
log "asl-validator $ASL_VALIDATOR_VERSION: ${DEFINITIONS[*]}"
for definition in "${DEFINITIONS[@]}"; do
    "$ASL_VALIDATOR" --json-path "$definition" || status=1
done
log "cfn-lint $("$CFN_LINT" --version | awk '{print $2}'): ${TEMPLATES[*]}"
# cfn-lint exits non-zero on errors (2) and warnings (4) alike.
if "$CFN_LINT" "${TEMPLATES[@]}"; then
    echo "✓ ${TEMPLATES[*]}: no errors, no warnings"
else
    status=1
fi
exit "$status"
