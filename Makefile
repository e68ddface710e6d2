# The two commands a fresh machine needs: `make demo` and `make test`. Both install what is missing first.
SHELL := /bin/bash
CARGO ?= cargo
# One profile for binaries and tests, so dependencies compile once.
PROFILE ?= release
export CARGO_TERM_COLOR ?= never

.PHONY: all deps build lint test test-peers unit e2e demo bench churn clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	$(CARGO) build --profile $(PROFILE) --workspace

unit: build
	$(CARGO) test --profile $(PROFILE) --workspace --no-fail-fast

e2e: build
	bash tests/run-all.sh

# Formatting and the lints the tree claims (workspace [lints], clippy.toml): any warning fails.
lint: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --profile $(PROFILE) --workspace --all-targets -- -D warnings
	CARGO=$(CARGO) PROFILE=$(PROFILE) bash scripts/check-tee-features.sh

test: lint unit e2e

# Interop suites whose peers take long to build cold (trustee's KBS ~10 min, guest-components'
# trustee-attester ~4 min on 2 cores; cached per machine after that). CI runs it after `make test`.
test-peers: build
	bash tests/run-all.sh --peers

demo: build
	bash scripts/demo.sh

# Churn and leak test at full length (make test runs it with 100 cycles).
churn: build
	bash bench/churn.sh

bench: build
	bash bench/run-all.sh

clean:
	$(CARGO) clean
