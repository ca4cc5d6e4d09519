# Shortcuts over the CMake presets. `make run` and `make test` work on a fresh Debian 12 machine:
# they install missing packages first (scripts/install-deps.sh), then configure and build Release.
PRESET ?= release
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CLI := $(BUILD_DIR)/app/ditstudio-cli
GUI := $(BUILD_DIR)/app/ditstudio

.PHONY: all deps configure build run test demo clean format headless asan

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

headless:
	@$(MAKE) build PRESET=headless

asan:
	@$(MAKE) test PRESET=asan

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	@rm -rf build
