#!/usr/bin/env bash
# Deploys Lakeship with CloudFormation: uploads the function zips (from
# `make package`) and the state machine definition to an S3 bucket under
# content-addressed keys (so a changed artifact is a changed parameter and
# CloudFormation updates what uses it), then runs `aws cloudformation deploy`
# with cloudformation/lakeship.yaml and prints the stack's outputs.
#
# usage: scripts/lambda/deploy.sh STACK BUCKET [Name=Value ...]
#        make deploy STACK=lakeship BUCKET=my-artifacts PARAMS="SubscriberQueueArn=… OpenSearchEndpoint=…"
#
# environment: AWS_REGION / AWS_PROFILE as for the aws CLI; DRY_RUN=1 prints the
# aws commands instead of running them.
set -euo pipefail

LAKESHIP_SCRIPT=deploy.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$LAKESHIP_ROOT"

[[ $# -ge 2 && -n "$1" && -n "$2" ]] || die "usage: scripts/lambda/deploy.sh STACK BUCKET [Name=Value ...] (make deploy STACK=… BUCKET=… PARAMS=\"…\")"
STACK=$1
BUCKET=$2
shift 2
TEMPLATE=cloudformation/lakeship.yaml
DEFINITION=statemachine/ingest.asl.json
PREFIX=lakeship/artifacts

run() {
    if [[ -n "${DRY_RUN:-}" ]]; then
        printf '+ %q' "$1"; shift; printf ' %q' "$@"; printf '\n'
    else
        "$@"
    fi
}

[[ -n "${DRY_RUN:-}" ]] || require_cmd aws
declare -A keys
upload() {
    local name=$1 file=$2 extension=$3 digest
    [[ -f "$file" ]] || die "missing $file: run \`make package\` first"
    digest=$(sha256sum "$file" | cut -c1-16)
    keys[$name]="$PREFIX/$name-$digest.$extension"
    log "s3://$BUCKET/${keys[$name]} <- $file"
    run aws s3 cp --only-show-errors "$file" "s3://$BUCKET/${keys[$name]}"
}
upload dispatcher target/lambda/lakeship-dispatcher/bootstrap.zip zip
upload worker target/lambda/lakeship-worker/bootstrap.zip zip
upload finalizer target/lambda/lakeship-finalizer/bootstrap.zip zip
upload starter target/lambda/lakeship-starter/bootstrap.zip zip
upload definition "$DEFINITION" asl.json

run aws cloudformation deploy \
    --stack-name "$STACK" \
    --template-file "$TEMPLATE" \
    --s3-bucket "$BUCKET" --s3-prefix "$PREFIX/templates" \
    --capabilities CAPABILITY_IAM \
    --no-fail-on-empty-changeset \
    --parameter-overrides \
        "ArtifactBucket=$BUCKET" \
        "DispatcherCodeKey=${keys[dispatcher]}" \
        "WorkerCodeKey=${keys[worker]}" \
        "FinalizerCodeKey=${keys[finalizer]}" \
        "StarterCodeKey=${keys[starter]}" \
        "DefinitionKey=${keys[definition]}" \
        "$@"

run aws cloudformation describe-stacks --stack-name "$STACK" \
    --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output table
log "notifications start runs only once DesiredState=RUNNING: install the index templates first (docs/deploy.md, step order)"
