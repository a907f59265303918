# Thin wrapper over CMake presets, in the manner of DuckDB: `make`, `make test`, `make bench`.
PRESET ?= release
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test bench bench-quick demo demo-kafka debug clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake --preset $(PRESET) >/dev/null

# The release build is profile-guided (docs/performance.md): its profile is made first, and made
# again when the sources changed since (a stale profile can miss counts for an edited function,
# which GCC reports as an error under -Werror). About 7 minutes; `PGO_WHEN=--if-missing` keeps an
# old profile for a quick build of a change that leaves function signatures alone.
PGO_WHEN ?= --if-stale

build: configure
	@if [ "$(PRESET)" = release ]; then scripts/pgo-profile.sh $(PGO_WHEN); fi
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@ctest --preset $(PRESET) -j $(JOBS)

# bench/run.sh measures the binaries in BIN_DIR and installs the DuckDB peer itself (npm).
bench:
	@$(MAKE) --no-print-directory build
	@BIN_DIR=$(BUILD_DIR) bench/run.sh

bench-quick: build
	@BIN_DIR=$(BUILD_DIR) QUICK=1 bench/run.sh

demo: build
	@scripts/demo.sh

# The same with Kafka in between: kafka-mock-broker + server (--kafka-brokers) + simulator.
demo-kafka: build
	@scripts/demo-kafka.sh

debug:
	@$(MAKE) PRESET=debug test

clean:
	rm -rf build
