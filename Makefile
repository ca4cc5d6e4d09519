# Shortcuts over the CMake presets. `make run` and `make test` work on a fresh Debian 12 machine:
# they install missing packages first (scripts/install-deps.sh), then configure and build Release.
PRESET ?= release
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CLI := $(BUILD_DIR)/app/ditstudio-cli
GUI := $(BUILD_DIR)/app/ditstudio

.PHONY: all deps configure build run test demo clean format headless asan fuzz package package-test

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ] && [ "$$(uname)" = "Linux" ]; then \
	    echo "make run: no display found (DISPLAY/WAYLAND_DISPLAY unset)."; \
	    echo "  Run it under a virtual display:  xvfb-run -a make run"; \
	    echo "  or generate headless:           make demo"; \
	    exit 1; \
	fi
	@$(GUI)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 1500

demo: build
	@mkdir -p out
	$(CLI) generate --prompt "sneaker" --steps 50 --seed 7 --batch 4 --out out/ --overwrite
	$(CLI) video film --prompt "sneaker" --steps 50 --seed 7 --video out/sneaker-film.mp4 --overwrite --quiet
	@echo "demo images and the denoising film (out/sneaker-film.mp4) written under out/"

# The installer for this platform, written into dist/ (Debian: dist/ditstudio_<version>_<arch>.deb).
package: build
	@cmake --build $(BUILD_DIR) --target package
	@rm -rf dist/_CPack_Packages
	@ls -l dist/

# Install the package, run the installed CLI and GUI, purge it, check nothing is left (needs root
# or sudo; not part of `make test`).
package-test: package
	@cmake --build $(BUILD_DIR) --target package-test

# libFuzzer harnesses (clang, ASan + UBSan) over every file parser, FUZZ_SECONDS each (not part of `make test`).
FUZZ_SECONDS ?= 60
fuzz:
	@bash scripts/fuzz.sh $(FUZZ_SECONDS)

headless:
	@$(MAKE) build PRESET=headless

asan:
	@$(MAKE) test PRESET=asan

format:
	@bash scripts/format.sh

clean:
	@rm -rf build
