# Lakeship's commands. `make test` is the one test command (CI runs it via .ci/run).
.PHONY: test demo demo-down services services-down bench package deploy help

help:
	@echo "make test       install what is missing, start OpenSearch + moto, run every test, stop them"
	@echo "make demo       start the local services and run the end-to-end demo"
	@echo "make demo-down  stop everything the demo started"
	@echo "make bench      conversion benchmark against DuckDB (prints rows/s, RSS and ratios)"

test:
	scripts/test.sh

demo:
	scripts/demo.sh up

demo-down:
	scripts/demo.sh down

bench:
	scripts/bench.sh
