# sync2gear: `make run` starts everything, `make test` checks everything.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install system-deps run test lint typecheck imports unit integration e2e bench bench-deps clean

# Debian packages the system and its tests need, as command:package pairs:
# espeak-ng speaks TTS announcements; chromium runs the browser tests of the
# web console and player; nginx fronts two API replicas in the scale-out test;
# wrk is the load generator of `make bench`.
SYSTEM_PACKAGES := espeak-ng:espeak-ng chromium:chromium nginx:nginx-light wrk:wrk

system-deps:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
	  command -v $${pair%%:*} >/dev/null || [ -x /usr/sbin/$${pair%%:*} ] || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: system-deps $(STAMP)

run: install
	$(BIN)/sync2gear run

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

# pytest exits 5 when it collects nothing; that is not a failure here.
test: lint typecheck imports
	$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

unit: install
	$(BIN)/pytest tests/unit
integration: install
	$(BIN)/pytest tests/integration
e2e: install
	$(BIN)/pytest tests/e2e

# wrk, the HTTP load generator of `make bench`, from Debian.
bench-deps:
	@command -v wrk >/dev/null || { \
	  echo "installing Debian package: wrk"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk; }
	@command -v ffmpeg >/dev/null || { \
	  echo "installing Debian package: ffmpeg (the ingest bench's baseline decode)"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq ffmpeg; }

# `make bench` runs every bench; `make bench BENCH="http ws"` a subset.
bench: install bench-deps
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
