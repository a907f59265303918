# Thin wrapper over CMake presets, in the manner of DuckDB: `make`, `make test`, `make bench`.
PRESET ?= release
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test bench bench-quick demo debug clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@ctest --preset $(PRESET) -j $(JOBS)

bench: build
	@bench/run.sh

bench-quick: build
	@QUICK=1 bench/run.sh

demo: build
	@scripts/demo.sh

debug:
	@$(MAKE) PRESET=debug test

clean:
	rm -rf build
