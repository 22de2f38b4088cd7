#!/usr/bin/env bash
# The local demo (`make demo`): a sample Security Lake in local S3, its
# notifications on a local SQS queue, the OCSF templates in a real OpenSearch,
# and `lakeship run` taking it all from the queue. `make demo-down` stops it.
set -euo pipefail
LAKESHIP_SCRIPT=demo.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LAKESHIP_ROOT"

DEMO_DIR="$LAKESHIP_ROOT/.demo"
# The demo's node is the main test node unless DEMO_OPENSEARCH_PORT says otherwise;
# moto's port is DEMO_MOTO_PORT (default 5000).
OS_PORT=${DEMO_OPENSEARCH_PORT:-9200}
OS_NAME=main
[[ "$OS_PORT" == 9200 ]] || OS_NAME=demo
MOTO_PORT=${DEMO_MOTO_PORT:-5000}
ENDPOINT=http://127.0.0.1:$OS_PORT
AWS_ENDPOINT=http://127.0.0.1:$MOTO_PORT
BUCKET=aws-security-data-lake-us-east-1-demo
QUEUE=lakeship-demo
ROWS=${DEMO_ROWS:-10000}

down() {
    scripts/opensearch.sh stop --name "$OS_NAME"
    scripts/moto.sh stop --port "$MOTO_PORT"
    rm -rf "$DEMO_DIR"
}

up() {
    command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"
    local started=$SECONDS
    log "building lakeship (the first build compiles ~400 crates: 15 minutes or more on 2 cores; later ones take seconds)"
    cargo build -p lakeship-cli
    log "built in $((SECONDS - started)) s"
    local lakeship="${CARGO_TARGET_DIR:-$LAKESHIP_ROOT/target}/debug/lakeship"

    scripts/moto.sh start --port "$MOTO_PORT"
    scripts/opensearch.sh start --name "$OS_NAME" --port "$OS_PORT"

    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
    export LAKESHIP_ENDPOINT=$ENDPOINT LAKESHIP_AWS_ENDPOINT=$AWS_ENDPOINT
    export LAKESHIP_WORK="s3://$BUCKET-work/lakeship"

    rm -rf "$DEMO_DIR"
    log "generating a sample lake: 4 sources x 2 OCSF versions x 3 accounts, $ROWS rows per object"
    "$lakeship" sample --out "$DEMO_DIR/lake" --rows "$ROWS" --objects 3 --row-group-rows 4096 --end-time now --layout security-lake

    log "uploading it to local S3 and announcing every object on a local SQS queue"
    local queue_url
    "$LAKESHIP_ROOT/.venv/bin/python" - "$AWS_ENDPOINT" "$BUCKET-work" <<'PY'
import sys, boto3
boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing").create_bucket(Bucket=sys.argv[2])
PY
    queue_url=$("$LAKESHIP_ROOT/.venv/bin/python" scripts/demo_lake.py "$AWS_ENDPOINT" "$DEMO_DIR/lake" "$BUCKET" "$QUEUE")

    log "installing the OCSF index templates"
    "$lakeship" templates install

    log "running: lakeship run --source $queue_url"
    "$lakeship" run --source "$queue_url" --target-shard-mb 2

    log "running every dashboard panel's query on the indexed data (lakeship dashboards verify)"
    "$lakeship" dashboards verify --last 3d

    log "drawing the dashboards from that data (lakeship dashboards render)"
    "$lakeship" dashboards render --out "$DEMO_DIR/dashboards" --last 24h

    cat <<EOT

The demo data is in OpenSearch at $ENDPOINT. Three queries to try:

  # Denied network traffic by account, across OCSF 1.0.0-rc.2 and 1.1.0
  curl -s "$ENDPOINT/ocsf-*-4001-*/_search?size=0" -H 'content-type: application/json' -d '{"query":{"term":{"action":"Denied"}},"aggs":{"accounts":{"terms":{"field":"cloud.account.uid"}}}}'

  # The ten most queried domain names
  curl -s "$ENDPOINT/ocsf-*-4003-*/_search?size=0" -H 'content-type: application/json' -d '{"aggs":{"names":{"terms":{"field":"query.hostname","size":10}}}}'

  # High and critical findings of the last day
  curl -s "$ENDPOINT/ocsf-*-2001-*,ocsf-*-2004-*/_search?size=3" -H 'content-type: application/json' -d '{"query":{"bool":{"filter":[{"terms":{"severity":["High","Critical"]}},{"range":{"time":{"gte":"now-1d"}}}]}}}'

The dashboards, drawn from this data (open in a browser; nothing is fetched):
  $DEMO_DIR/dashboards/index.html

Pipeline state:  $lakeship status --endpoint $ENDPOINT
Stop everything: make demo-down
EOT
}

case "${1:-up}" in
    up) up ;;
    down) down ;;
    *) die "usage: scripts/demo.sh up|down" ;;
esac
