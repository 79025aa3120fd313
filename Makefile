# gridsight — `make demo` and `make test` each set themselves up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test test-media chromium nats-server lint typecheck bench clean help

help:
	@echo "make demo   - run the engine on the 12 synthetic cameras with the bundled model"
	@echo "make test   - lint, type-check and run the test suite"
	@echo "make bench  - run the benchmarks (pytest-benchmark, ratios side by side)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools wheel

# Runtime install (what `make demo` needs).
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

# Development install: test tools, evaluators, server, training (CPU PyTorch).
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[dev,train]" -e examples/gridsight-loitering
	touch $@ $(VENV)/.installed-run

demo: $(VENV)/.installed-run
	$(BIN)/gridsight demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check gridsight tests benchmarks examples
	$(BIN)/ruff format --check gridsight tests benchmarks examples
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

test: lint typecheck test-media chromium nats-server
	$(BIN)/pytest -q

# The cluster tests start their own nats-server processes (a restart, a 3-server cluster
# losing its leader): install Debian's where it is missing. Without it they skip locally
# and fail under CI=true.
nats-server:
	@command -v nats-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  { $$SUDO apt-get update -qq && $$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq nats-server; } \
	  || echo "nats-server could not be installed: the cluster tests that need it will skip (fail under CI)"; }

# The browser tests drive Debian's Chromium (Playwright cannot download its own browser
# here) and render Chinese with Noto CJK (without a CJK font Chinese is boxes): install
# them where they are missing (root, or sudo). Without Chromium the browser tests skip
# locally and fail under CI=true; without the fonts the CJK rendering test does.
chromium:
	@{ test -x /usr/bin/chromium && fc-list 2>/dev/null | grep -q "Noto Sans CJK"; } || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  { $$SUDO apt-get update -qq && $$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
	      chromium fonts-noto-cjk fontconfig; } \
	  || echo "chromium or fonts-noto-cjk could not be installed: the browser tests will skip (fail under CI)"; }

# The RTSP server (GStreamer, Debian packages) and opencv-doc's sample videos that the
# fault tests stream; they skip without them (fail under CI=true).
test-media:
	@sh tests/faults/setup_media.sh

# Roboflow's `trackers` (ByteTrack, the comparison in bench_tracker.py) asks for the GUI
# OpenCV, which would clash with opencv-python-headless: install it without its deps.
$(VENV)/.installed-bench: $(VENV)/.installed-dev
	$(PIP) install --quiet --no-deps "trackers==2.6.1" "pydeprecate>=0.3"
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/pytest benchmarks -q --benchmark-columns=min,median,mean,ops,rounds --benchmark-sort=name

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .benchmarks
