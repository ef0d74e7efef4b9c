# drugscan - the two commands of the README, and a few helpers.
#   make demo   install what is missing, build, run the main job on the bundled data
#   make test   build and run every test, plain and under ASan+UBSan

MAKEFLAGS  += --no-print-directory
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_OPTS ?=

.PHONY: all deps build asan demo test test-plain test-asan fuzz valgrind install clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_OPTS) >/dev/null

$(BUILD_ASAN)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DDS_SANITIZE=ON $(CMAKE_OPTS) >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

asan: deps $(BUILD_ASAN)/CMakeCache.txt
	cmake --build $(BUILD_ASAN) -j $(JOBS)

demo: build
	@scripts/demo $(BUILD)/drugscan

test-plain: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure

test-asan: asan
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest -j $(JOBS) --output-on-failure

test: test-plain test-asan

# libFuzzer build of the harnesses (needs clang: scripts/install-deps --fuzz)
fuzz:
	@scripts/install-deps --fuzz
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DDS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build-fuzz -j $(JOBS) --target fuzz_trace fuzz_image fuzz_csv
	@echo "run: build-fuzz/fuzz/fuzz_trace fuzz/corpus/trace -max_total_time=60 (also fuzz_image, fuzz_csv)"

VALGRIND = valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--suppressions=$(CURDIR)/tests/valgrind.supp
valgrind: build
	DRUGSCAN_WRAPPER="$(VALGRIND)" python3 tests/cli/test_check.py $(BUILD)/drugscan
	DRUGSCAN_WRAPPER="$(VALGRIND)" python3 tests/cli/test_catalog.py $(BUILD)/drugscan fixtures
	DRUGSCAN_WRAPPER="$(VALGRIND)" python3 tests/cli/test_scan.py $(BUILD)/drugscan fixtures
	DRUGSCAN_WRAPPER="$(VALGRIND)" python3 tests/cli/test_counter.py $(BUILD)/drugscan tests/tools/receiver.py
	DRUGSCAN_WRAPPER="$(VALGRIND)" python3 tests/cli/test_audit.py $(BUILD)/drugscan fixtures
	DRUGSCAN_WRAPPER="$(VALGRIND)" python3 tests/cli/test_nrdl.py $(BUILD)/drugscan .
	DRUGSCAN_WRAPPER="$(VALGRIND)" python3 tests/cli/test_i18n.py $(BUILD)/drugscan fixtures

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) build-fuzz
