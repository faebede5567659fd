# ganlab: `make demo` and `make test` set everything up from nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench docs lint clean postgres chromium

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	# torch pinned to the CPU wheel first: an unpinned request would pull the CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test,mnist5k]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ganlab train --preset demo --runs runs

# The study tests start a real PostgreSQL server on loopback. Install Debian's package when it is
# missing and this is root with apt; otherwise those tests skip and say why.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } || \
	  echo "PostgreSQL is not installed: the PostgreSQL study test will be skipped"

# The report test opens reports in headless Chromium. Install Debian's package when it is missing
# and this is root with apt; otherwise that test skips and says why.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "Chromium is not installed: the report's browser test will be skipped"

test: $(STAMP) postgres chromium
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

# The documentation site (mkdocs-material; API pages from the docstrings, CLI pages from the commands),
# built with --strict: a broken link, a page missing from the nav or a failed reference stops it.
DOCS_STAMP := $(VENV)/.docs-installed
$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[test,mnist5k,docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# Sized to end within 5 minutes on the slower machines of this kind; each ratio printed as it is measured.
bench: $(STAMP)
	$(PY) benchmarks/metrics_speed.py --repeats 1
	$(PY) benchmarks/ddp_throughput.py --steps 40
	$(PY) benchmarks/train_throughput.py --steps 80 --rounds 3

clean:
	rm -rf $(VENV) runs .pytest_cache site
