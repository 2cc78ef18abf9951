# Baton — common tasks. `make test` is the one CI runs.
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin:/usr/sbin:/sbin

SWIFT ?= swift

.PHONY: test build release services stop-services status bench bench-store clean

## Starts Redis and MariaDB (installing what is missing), builds, runs every test.
test: services
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release

services:
	scripts/dev-services.sh start

stop-services:
	scripts/dev-services.sh stop

status:
	scripts/dev-services.sh status

## Benchmarks (release build) against the local servers.
bench: bench-store

bench-store: services release
	.build/release/baton-bench store

clean:
	-scripts/dev-services.sh stop
	rm -rf .build .run logs
