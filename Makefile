# Aegis: the two commands. `make run` and `make test` each install what is missing
# (Debian packages, as root), configure, build and do their job.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD ?= build
SHARED ?= $(abspath ../shared/data)
CMAKE_FLAGS ?=

.PHONY: run test deps build test-unit bench clean format

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAEGIS_SHARED_DATA=$(SHARED) $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Builds Aegis and runs it on demo data: alerts appear as the demo log grows.
run: build
	@bash scripts/demo.sh $(BUILD)/aegis

test: build
	@bash scripts/test.sh

test-unit: build
	cd $(BUILD) && ctest -L 'unit|e2e' --output-on-failure -j $(JOBS)

bench: deps
	cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAEGIS_BUILD_TESTS=OFF -DAEGIS_SHARED_DATA=$(SHARED)
	cmake --build build-bench -j $(JOBS)
	@bash bench/run.sh build-bench

format:
	clang-format -i $$(git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'bench/*.cc' 'fuzz/*.cc')

clean:
	rm -rf build build-asan build-fuzz build-bench
