# Lakeship's commands. `make test` is the one test command (CI runs it via .ci/run).
.PHONY: test demo demo-down services services-down bench bench-e2e bench-index bench-backlog bench-freshness package deploy help

help:
	@echo "make test       install what is missing, start OpenSearch + moto, run every test, stop them"
	@echo "                (cargo test --workspace alone runs the tests that need no services, offline)"
	@echo "make demo       start the local services and run the end-to-end demo"
	@echo "make demo-down  stop everything the demo started"
	@echo "make bench      conversion benchmark against DuckDB (prints rows/s, RSS and ratios)"
	@echo "make bench-e2e  lakeship index against a raw _bulk replay on a fresh node (docs/s, CPU s/GiB, RSS, ratio)"
	@echo "make bench-index  store bytes and docs/s per class: dynamic mapping vs the templates before/after"
	@echo "make bench-backlog  a backlog into a node that throttles: adaptive vs fixed bulk concurrency (docs/s, 429s, ratio)"
	@echo "make bench-freshness  SQS send to searchable through one lakeship run --follow (p50/p95, split, vs a plain _bulk)"
	@echo "make validate   asl-validator on statemachine/, cfn-lint on cloudformation/"
	@echo "make package    arm64 Lambda zips with cargo lambda: target/lambda/lakeship-*/bootstrap.zip"
	@echo "make deploy STACK=name BUCKET=artifact-bucket PARAMS=\"Name=Value ...\"   upload the zips, aws cloudformation deploy"

test:
	scripts/test.sh

demo:
	scripts/demo.sh up

demo-down:
	scripts/demo.sh down

bench:
	scripts/bench.sh

bench-e2e:
	scripts/bench-e2e.sh

bench-index:
	scripts/bench-index.sh

bench-backlog:
	scripts/bench-backlog.sh

bench-freshness:
	scripts/bench-freshness.sh

# ---- Lambda functions, state machine and stack (scripts/lambda/) ----
.PHONY: validate

validate:
	scripts/lambda/validate.sh

package:
	scripts/lambda/package.sh

deploy: package
	@test -n "$(STACK)" -a -n "$(BUCKET)" || { echo 'usage: make deploy STACK=name BUCKET=artifact-bucket PARAMS="SubscriberQueueArn=... OpenSearchEndpoint=..."' >&2; exit 2; }
	scripts/lambda/deploy.sh "$(STACK)" "$(BUCKET)" $(PARAMS)
