# The three commands of the contract. Each one installs what is missing first.
BUILD ?= build
JOBS  ?= $(shell nproc)

.PHONY: deps build test test-asan fuzz bench demo clean format format-check

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@bash scripts/test.sh $(BUILD)

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer,
# in build-asan (see scripts/test-asan.sh). CI runs it after `make test`.
test-asan: deps
	@JOBS=$(JOBS) bash scripts/test-asan.sh build-asan

# libFuzzer targets (clang, ASan+UBSan) in build-fuzz/, each run FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

bench: build
	@bash bench/run.sh $(BUILD)
	@bash bench/http_load.sh $(BUILD)

demo: build
	@$(BUILD)/lethe demo

format: deps
	@bash scripts/format.sh fix

format-check: deps
	@bash scripts/format.sh check

clean:
	rm -rf $(BUILD)
