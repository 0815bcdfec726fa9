# wvoice: `make demo` and `make test` do all the set-up on a fresh machine.
#
#   make            build (build/), and the browser's module (make wasm)
#   make test       install missing packages, build, run the WebAssembly
#                   build's tests (test-wasm), each fuzz target for a few
#                   seconds (test-fuzz), then every test, then the same
#                   suites under ASan+UBSan (build-asan/) and TSan
#                   (build-tsan/)
#   make wasm       the core and the browser's module built with Emscripten
#                   (build-wasm/web/wvoice-core.wasm: what the page at / of
#                   wvoice serve runs)
#   make test-wasm  its tests under node, and the module's cost per frame
#   make fuzz       the libFuzzer targets of fuzz/ built with clang
#                   (build-fuzz/), each run for FUZZ_S seconds (60),
#                   printing its executions and coverage; what they find
#                   is kept in build-fuzz/fuzz/corpus/, never in the tree
#   make test-fuzz  each fuzz target a few seconds from its seeds and
#                   regressions (ctest in build-fuzz/)
#   make demo       install, build, run a recorded call to the built-in
#                   agent (demo-call.wav, demo-call.jsonl)
#   make soak       build, then the hostile suite at full scale
#                   (tests/hostile/soak.py): 1,000-connection attacks on
#                   wvoice serve beside a live call, a 10-minute audio
#                   flood, floods against wvoice call; prints the figures
#                   (some 15 minutes)
#   make bench      build and run the benchmarks; bench_load steps the
#                   calls of wvoice load and of a Node peer up against
#                   wvoice serve, one core each (a few minutes)
#   make cross-test the core and its unit tests for aarch64 and armhf, run
#                   under qemu-user (installs the cross compilers)
#   make install    install the command, the libraries, headers, .pc files,
#                   man page and bash completion under PREFIX (/usr/local);
#                   builds in build-install/ without the tests and installs
#                   no packages (CMake names what is missing); the browser
#                   client with its module if make wasm has built it,
#                   and the load report's charting library if make deps
#                   has fetched it
#   make uninstall  remove what the last make install installed

JOBS   ?= $(shell nproc)
MAKEFLAGS += --no-print-directory
PREFIX ?= /usr/local
CMAKE  ?= cmake
CTEST  ?= ctest --output-on-failure -j $(JOBS)
INSTALL_BUILD ?= build-install

.PHONY: all deps build wasm test test-plain test-asan test-tsan test-wasm bench \
	soak demo install uninstall cross-test clean fuzz fuzz-build test-fuzz

all: build

deps:
	@scripts/install-deps.sh
	@scripts/browser-deps.sh
	@scripts/report-deps.sh

build: deps wasm
	$(CMAKE) -S . -B build -DCMAKE_INSTALL_PREFIX="$(PREFIX)" >/dev/null
	$(CMAKE) --build build -j $(JOBS)

# The browser tests need the module: the WebAssembly build goes first.
test: test-wasm test-fuzz test-plain test-asan test-tsan

test-plain: build
	cd build && $(CTEST)

test-asan: deps wasm
	$(CMAKE) -S . -B build-asan -DWV_SANITIZE=address,undefined >/dev/null
	$(CMAKE) --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(CTEST)

test-tsan: deps wasm
	$(CMAKE) -S . -B build-tsan -DWV_SANITIZE=thread >/dev/null
	$(CMAKE) --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 $(CTEST)

# libwvoice-core compiled to WebAssembly (wasm/CMakeLists.txt): Debian's
# sources of its libraries fetched into build-wasm/deps/ once, then the
# core's unit tests and the browser's module (build-wasm/web/) with its
# tests, all under node. Debian's Emscripten runs node itself, and needs
# Debian's node modules on NODE_PATH.
WASM_BUILD ?= build-wasm
WASM_NODE_PATH ?= /usr/share/nodejs
wasm: deps
	scripts/wasm-deps.sh $(WASM_BUILD)/deps
	NODE_PATH=$(WASM_NODE_PATH) emcmake $(CMAKE) -S . -B $(WASM_BUILD) \
		-DWV_WASM=ON >/dev/null
	NODE_PATH=$(WASM_NODE_PATH) $(CMAKE) --build $(WASM_BUILD) -j $(JOBS)

test-wasm: wasm
	cd $(WASM_BUILD) && $(CTEST)
	WVOICE_WASM=$(WASM_BUILD)/web/wvoice-core.wasm \
		node tests/wasm/bench_web_api.mjs --quick

# fuzz/'s targets, compiled by clang with libFuzzer, ASan and UBSan
# (-DWV_FUZZ=ON: the libraries they link, and only those, instrumented).
FUZZ_BUILD ?= build-fuzz
FUZZ_S ?= 60
fuzz-build: deps
	@scripts/fuzz-deps.sh
	CC=clang $(CMAKE) -S . -B $(FUZZ_BUILD) -DWV_FUZZ=ON >/dev/null
	$(CMAKE) --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all

fuzz: fuzz-build
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_S)

test-fuzz: fuzz-build
	cd $(FUZZ_BUILD) && $(CTEST)

bench: build
	build/bench_core
	build/bench_serve
	build/bench_latency
	build/bench_playout
	WVOICE_BENCH_CORE=build/bench_core node bench/bench_browser.mjs
	@scripts/bench-deps.sh
	python3 bench/bench_load.py --bin build/wvoice

# The plain build: RSS is a figure to bound there, not under a sanitizer.
soak: build
	python3 tests/hostile/soak.py --bin build/wvoice

# A whole call to the built-in agent: a synthesized caller talks over the
# greeting, presses 5 and #. Writes demo-call.wav and demo-call.jsonl here.
demo: build
	build/wvoice demo

# Its own build directory, configured without the tests: the install needs
# neither cmocka nor spandsp, and build/ keeps its tests. CMake's output is
# shown if it fails: it names the package missing.
install:
	@echo "$(CMAKE) -S . -B $(INSTALL_BUILD) -DWV_TESTS=OFF -DCMAKE_INSTALL_PREFIX=$(PREFIX)"
	@out=$$($(CMAKE) -S . -B "$(INSTALL_BUILD)" -DWV_TESTS=OFF \
		-DCMAKE_INSTALL_PREFIX="$(PREFIX)" 2>&1) || { echo "$$out" >&2; exit 1; }
	$(CMAKE) --build "$(INSTALL_BUILD)" -j $(JOBS)
	$(CMAKE) --install "$(INSTALL_BUILD)"
	@[ -f $(WASM_BUILD)/web/wvoice-core.wasm ] || echo "install: the" \
		"browser client's module is not built (make wasm): the page" \
		"at / of wvoice serve cannot call until it is installed too" >&2
	@[ -f report/node_modules/chart.js/dist/chart.umd.js ] || echo "install:" \
		"the charting library is not fetched (make deps): wvoice load" \
		"--html cannot write its page until it is installed too" >&2

uninstall:
	scripts/uninstall.sh "$(INSTALL_BUILD)/install_manifest.txt"

cross-test: deps
	JOBS=$(JOBS) scripts/cross-test.sh

clean:
	rm -rf build build-asan build-tsan build-core build-cross-* build-install \
		$(WASM_BUILD) $(FUZZ_BUILD)
