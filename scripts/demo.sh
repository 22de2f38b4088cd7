#!/usr/bin/env bash
# The local demo. For now: start the local services and print their addresses.
set -euo pipefail
LAKESHIP_SCRIPT=demo.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAKESHIP_ROOT"

case "${1:-up}" in
    up)
        scripts/moto.sh start
        scripts/opensearch.sh start
        echo "OpenSearch:        http://127.0.0.1:9200"
        echo "S3/SQS (moto):     http://127.0.0.1:5000"
        ;;
    down)
        scripts/opensearch.sh stop
        scripts/moto.sh stop
        ;;
    *) die "usage: scripts/demo.sh up|down" ;;
esac
