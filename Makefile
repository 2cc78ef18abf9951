# Baton — common tasks. `make test` is the one CI runs.
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin:/usr/sbin:/sbin

SWIFT ?= swift

.PHONY: test build release migrations migrations-check deploy-check prometheus-tests services stop-services status bench bench-parts bench-store clean run-cluster run-client

## Starts Redis and MariaDB (installing what is missing), builds, runs every test.
test: services web-check migrations-check deploy-check
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) testkit-tests
	BATON_NODE_BIN=$(CURDIR)/.build/debug/baton-node $(MAKE) chaos
	BATON_NODE_BIN=$(CURDIR)/.build/debug/baton-node $(MAKE) browser-tests
	BATON_NODE_BIN=$(CURDIR)/.build/debug/baton-node $(MAKE) rest-tests
	BATON_NODE_BIN=$(CURDIR)/.build/debug/baton-node $(MAKE) example-test
	BATON_NODE_BIN=$(CURDIR)/.build/debug/baton-node $(MAKE) prometheus-tests
	BATON_NODE_BIN=$(CURDIR)/.build/debug/baton-node scripts/testbed.sh --quick

build:
	$(SWIFT) build

## Three nodes (gRPC 9091-9093, HTTP 8081-8083) in the foreground; Ctrl-C stops them.
## Built by `release`, as run-client is: SwiftPM plans the whole build again
## (~20 s) whenever a build's environment differs from the last one's (PATH,
## SHLVL, any variable), and cluster.sh's own build runs in another.
run-cluster: release
	BATON_SKIP_BUILD=1 scripts/cluster.sh run

## The client's eight checks against the running cluster.
run-client: release
	.build/release/baton-client test --server localhost:9091

## Every release product in one build: each command below reuses it (a build
## per `--product` recompiles shared dependencies for each).
release:
	$(SWIFT) build -c release

services:
	scripts/dev-services.sh start

stop-services:
	scripts/dev-services.sh stop

status:
	scripts/dev-services.sh status

## End-to-end benchmark (release build) against a fresh local three-node
## cluster at default settings; BATON_NODE_ARGS adds node flags.
bench: services release
	BATON_SKIP_BUILD=1 scripts/cluster.sh start
	.build/release/baton-bench e2e; status=$$?; scripts/cluster.sh stop; exit $$status

## Dependency release latency and DAG throughput (release build): a 10,000-task
## DAG of noop tasks on a fresh local three-node cluster (docs/benchmarks.md).
.PHONY: bench-dag
bench-dag: services release
	BATON_SKIP_BUILD=1 scripts/cluster.sh start
	.build/release/baton-bench dag; status=$$?; scripts/cluster.sh stop; exit $$status

## `make bench` against a MariaDB that makes each commit durable (log flushed
## at every commit, doublewrite on), as production runs it: its own servers on
## other ports under .run/durable, stopped afterwards.
DURABLE_ENV := BATON_RUN_DIR=$(CURDIR)/.run/durable BATON_MYSQL_PORT=3316 BATON_REDIS_PORT=6386 BATON_MYSQL_DURABLE=1
.PHONY: bench-durable
bench-durable: release
	$(DURABLE_ENV) scripts/dev-services.sh start
	$(DURABLE_ENV) BATON_SKIP_BUILD=1 MYSQL_DSN=mysql://baton:baton-dev-password@127.0.0.1:3316/baton REDIS_ADDR=redis://127.0.0.1:6386 \
		scripts/cluster.sh start
	.build/release/baton-bench e2e; status=$$?; $(DURABLE_ENV) scripts/cluster.sh stop; $(DURABLE_ENV) scripts/dev-services.sh stop; exit $$status

## Dashboard and REST latencies with a million tasks in MySQL: a database of
## its own (baton_dash, filled once), a three-node cluster on it (Redis db 7),
## then `baton-bench dashboard` against node 1's HTTP port.
DASH_ENV := MYSQL_DSN=mysql://root@127.0.0.1:3306/baton_dash REDIS_ADDR=redis://127.0.0.1:6379/7
.PHONY: bench-dashboard
bench-dashboard: services release
	.build/release/baton-bench stats --rows 1000000 --waiting 0 --reads 1 --mysql mysql://root@127.0.0.1:3306/baton_dash
	redis-cli -n 7 FLUSHDB >/dev/null
	$(DASH_ENV) BATON_SKIP_BUILD=1 scripts/cluster.sh start
	.build/release/baton-bench dashboard; status=$$?; $(DASH_ENV) scripts/cluster.sh stop; exit $$status

## Component benchmarks (release build) against the local servers.
bench-parts: services release
	.build/release/baton-bench store
	.build/release/baton-bench api
	.build/release/baton-bench dispatch
	.build/release/baton-bench worker

bench-store: services release
	.build/release/baton-bench store

clean:
	-scripts/dev-services.sh stop
	rm -rf .build .run logs

## Regenerates the Swift code for proto/ (and grpc health + reflection).
## Builds the protoc plugins once into .build-plugins/ (git-ignored); CI never does.
PLUGINS := .build-plugins
PROTOC_GEN_SWIFT := $(PLUGINS)/src/.build/release/protoc-gen-swift
PROTOC_GEN_GRPC := $(PLUGINS)/src/.build/release/protoc-gen-grpc-swift-2
GEN := Sources/BatonProto/Generated
PROTO_FILES := baton/v1/task_service.proto baton/v1/admin_service.proto baton/v1/executor.proto \
	grpc/health/v1/health.proto grpc/reflection/v1/reflection.proto

.PHONY: proto plugins
plugins: $(PROTOC_GEN_SWIFT) $(PROTOC_GEN_GRPC)

$(PROTOC_GEN_SWIFT) $(PROTOC_GEN_GRPC):
	mkdir -p $(PLUGINS)
	[ -d $(PLUGINS)/src ] || git clone -q --branch 2.4.1 https://github.com/grpc/grpc-swift-protobuf.git $(PLUGINS)/src
	cd $(PLUGINS)/src && $(SWIFT) build -c release --product protoc-gen-swift \
		--cache-path ../cache --config-path ../config --security-path ../security
	cd $(PLUGINS)/src && $(SWIFT) build -c release --product protoc-gen-grpc-swift-2 \
		--cache-path ../cache --config-path ../config --security-path ../security

proto: plugins
	rm -rf $(GEN) && mkdir -p $(GEN)
	protoc -I proto -I /usr/include \
		--plugin=protoc-gen-swift=$(PROTOC_GEN_SWIFT) --plugin=protoc-gen-grpc-swift-2=$(PROTOC_GEN_GRPC) \
		--swift_out=$(GEN) --swift_opt=Visibility=Public \
		--grpc-swift-2_out=$(GEN) --grpc-swift-2_opt=Visibility=Public,Server=true,Client=true \
		$(PROTO_FILES)
	protoc -I proto -I /usr/include --include_imports --descriptor_set_out=$(PLUGINS)/baton.pb $(PROTO_FILES)
	scripts/embed-descriptor-set.sh $(PLUGINS)/baton.pb > Sources/BatonProto/DescriptorSet.swift

## The Python test kit the suites share (testkit/batontest): its key names
## against RedisKeys.swift, its process cleanup. Standard library only.
.PHONY: testkit-tests
testkit-tests:
	python3 -B -m unittest discover -s testkit/tests

## Chaos suite (chaos/): real processes, real faults — node kill -9 and instant
## restart, Redis frozen, MariaDB killed, skewed clocks, Redis data loss. Runs
## its own Redis (6395), MariaDB (3395) and nodes (gRPC 19091-19093) under
## .run/chaos; logs stay there. CHAOS_ARGS="--only NAME --keep" for development.
CHAOS_VENV := .build-chaos/venv
CHAOS_ARGS ?=

.PHONY: chaos chaos-proto
chaos: $(CHAOS_VENV)/.installed
	@[ -n "$$BATON_NODE_BIN" ] || $(SWIFT) build --product baton-node
	$(CHAOS_VENV)/bin/python -B chaos/run.py $(CHAOS_ARGS)

$(CHAOS_VENV)/.installed: chaos/requirements.txt
	rm -rf $(CHAOS_VENV)
	python3 -m venv $(CHAOS_VENV) || { rm -rf $(CHAOS_VENV); \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null && python3 -m venv $(CHAOS_VENV); }
	$(CHAOS_VENV)/bin/pip install -q --disable-pip-version-check --only-binary=:all: -r chaos/requirements.txt
	touch $@

## Regenerates chaos/gen (Python stubs of proto/baton/v1); needs grpcio-tools, which CI never installs.
chaos-proto: $(CHAOS_VENV)/.installed
	$(CHAOS_VENV)/bin/pip install -q --disable-pip-version-check --only-binary=:all: -r chaos/requirements-proto.txt
	rm -rf chaos/gen && mkdir -p chaos/gen
	$(CHAOS_VENV)/bin/python -m grpc_tools.protoc -I proto -I /usr/include \
		--python_out=chaos/gen --grpc_python_out=chaos/gen \
		proto/baton/v1/task_service.proto proto/baton/v1/admin_service.proto proto/baton/v1/executor.proto

## Multi-host test bed (scripts/testbed.sh, chaos/testbed.py): hosts in network
## namespaces, a Galera cluster, Redis with Sentinel, three nodes, a load
## generator; the Galera member killed, the Redis master killed, the leader cut
## off for 20 s, 5 ms to the database. Root only; skipped with a message where
## namespaces are not allowed. `make test` runs its quick part (--quick).
## TESTBED_ARGS="--scenarios cut --keep" for development (scripts/testbed.sh down).
TESTBED_ARGS ?=

.PHONY: testbed galera
testbed: $(CHAOS_VENV)/.installed
	@[ -n "$$BATON_NODE_BIN" ] || $(SWIFT) build --product baton-node
	scripts/testbed.sh $(TESTBED_ARGS)

## A three-member Galera cluster on loopback (3421-3423), data under .run/galera.
galera:
	scripts/galera.sh start

## Baton's `make bench` beside Celery (Redis; MariaDB), dramatiq, procrastinate
## (PostgreSQL) and Sidekiq, end to end on noop tasks, RUNS rounds (default 3)
## on this machine: tasks/s and CPU per task of every process each uses. The
## peers get a private Redis (6396) and PostgreSQL (5496) under .run/peers, a
## database of their own in the dev MariaDB, their pinned Python packages in
## .build-peers/venv (bench/peers/requirements.txt); the table goes to
## .run/peers/result.md. SKIP_BATON=1 runs the peers alone; PEERS,
## BATON_BENCH_CMD, PEER_TASKS: docs/benchmarks.md.
.PHONY: bench-peers
bench-peers:
	scripts/bench-peers.sh

## Instructions per noop task of the node and of MariaDB, counted by valgrind's
## callgrind (docs/benchmarks.md, "Cost per task"): one node, a private Redis
## (6397) and MariaDB (3397), everything under .run/cost. It runs the release
## binaries as they are and builds nothing: `make release` builds them
## (BATON_NODE_BIN, BATON_CLIENT_BIN point elsewhere). COST_TASKS (default 5000).
.PHONY: bench-cost
bench-cost:
	scripts/bench-cost.sh

## The dashboard (dashboard/) and the OpenAPI document, embedded in the node:
## `make web` regenerates Sources/BatonWeb/EmbeddedAssets.swift (commit it);
## `make web-check` fails when it is out of date (make test runs it).
.PHONY: web web-check browser-tests screenshots
web:
	python3 -B scripts/embed-web.py

web-check:
	python3 -B scripts/embed-web.py --check

## The dashboard in headless Chromium (selenium) against three real nodes with
## their own Redis (6384) and MariaDB (3384) under .run/browser; installs
## chromium, chromium-driver and a venv (.build-browser/) when missing.
## BROWSER_ARGS="--keep --only NAME" for development.
browser-tests:
	scripts/browser-tests.sh $(BROWSER_ARGS)

## The same run, saving each page's screenshot into docs/screenshots/.
screenshots:
	scripts/browser-tests.sh --screenshots docs/screenshots $(BROWSER_ARGS)

## REST/JSON API black-box tests (tests/rest): one node on its own Redis (6398)
## and MariaDB (3398) under .run/rest, every route, error status and role,
## responses checked against openapi/openapi.json, a bounded schemathesis run.
## Venv in .build-rest/venv (reused). REST_ARGS="-k tenant -x" for development.
REST_ARGS ?=
.PHONY: rest-tests
rest-tests:
	@[ -n "$$BATON_NODE_BIN" ] || $(SWIFT) build --product baton-node
	scripts/rest-tests.sh $(REST_ARGS)

## examples/custom-worker, a package of its own on BatonKit (by path): built
## in a scratch folder of its own (its first build compiles every
## dependency again, ~8 min), then one of its tasks of each kind run through it.
.PHONY: example-test
example-test: services
	@[ -n "$$BATON_NODE_BIN" ] || $(SWIFT) build --product baton-node
	@# The example's own module is always compiled again (one file, ~2 s): when only
	@# Baton changed, SwiftPM relinked it against types whose layout had changed
	@# (a stored property added to MySQLConfiguration) and it crashed at start.
	rm -rf $(CURDIR)/.build/custom-worker/debug/CustomWorker.build
	$(SWIFT) build --package-path examples/custom-worker --scratch-path $(CURDIR)/.build/custom-worker
	BATON_NODE_BIN=$${BATON_NODE_BIN:-$(CURDIR)/.build/debug/baton-node} \
	  python3 -B tests/example/run.py $(CURDIR)/.build/custom-worker/debug/CustomWorker

## The SQL migrations (sql/), embedded in the node: `make migrations`
## regenerates Sources/BatonStore/EmbeddedMigrations.swift (commit it);
## `make migrations-check` fails when it is out of date (make test runs it).
migrations:
	python3 -B scripts/embed-migrations.py

migrations-check:
	python3 -B scripts/embed-migrations.py --check

## deploy/: the alert rules and scrape config through promtool (syntax, and
## the rules' unit tests in baton-alerts.test.yml), the systemd unit through
## systemd-analyze when this machine has it. Installs prometheus (promtool) if missing.
deploy-check:
	@command -v promtool >/dev/null || scripts/dev-services.sh install
	cd deploy/prometheus && promtool check config prometheus.yml && promtool test rules baton-alerts.test.yml
	@if command -v systemd-analyze >/dev/null; then \
		dir=$$(mktemp -d) && sed 's#^ExecStart=/usr/local/bin/baton-node#ExecStart=/bin/true#' deploy/systemd/baton-node.service > $$dir/baton-node.service \
		&& systemd-analyze verify $$dir/baton-node.service && echo "deploy-check: baton-node.service verified"; status=$$?; rm -rf $$dir; exit $$status; \
	else echo "deploy-check: no systemd-analyze here; baton-node.service not verified"; fi

## A real Prometheus (127.0.0.1:9391) scraping three real nodes (tests/prometheus):
## every metric the alert rules and the Grafana dashboard use returns a series;
## deploy/baton.yaml is a valid --config. Own Redis (6391), MariaDB (3391),
## nodes (HTTP 18391-3, gRPC 19391-3) under .run/prometheus. PROMETHEUS_ARGS="--keep".
PROMETHEUS_ARGS ?=
prometheus-tests:
	@[ -n "$$BATON_NODE_BIN" ] || $(SWIFT) build
	@command -v prometheus >/dev/null || scripts/dev-services.sh install
	python3 -B tests/prometheus/run.py $(PROMETHEUS_ARGS)
