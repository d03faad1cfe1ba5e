# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/cablekeep demo

test: $(STAMP)
	$(PY) -m pytest -q
	$(PY) -m mypy

bench: $(STAMP)
	$(PY) benchmarks/crawl_vs_wget.py

clean:
	rm -rf $(VENV) build src/*.egg-info
