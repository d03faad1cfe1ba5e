# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test typecheck bench clean browser

# Debian's headless Chromium for the test that opens the link-rot report (tests/watch): installed with
# apt-get only when it is missing, running as root, and apt-get exists; never downloaded any other way.
# Without it that test is skipped and says why.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium and chromium-driver (apt-get) for the report's browser test"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
	      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
	      || echo "chromium could not be installed: the report's browser test will be skipped"; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# pywb for the replay tests, in a virtualenv of its own (its pinned dependencies stay out of .venv);
# made by cablekeep's own installer, once: the ready marker is written last.
PYWB_VENV  := $(VENV)/pywb
PYWB_STAMP := $(PYWB_VENV)/.cablekeep-pywb-ready

$(PYWB_STAMP): | $(STAMP)
	$(PY) -c 'import sys; from cablekeep.access.replay import ensure_pywb; ensure_pywb(sys.argv[1], python=sys.executable)' $(PYWB_VENV)

demo: $(STAMP)
	$(VENV)/bin/cablekeep demo

test: $(STAMP) $(PYWB_STAMP) browser
	$(PY) -m mypy
	CABLEKEEP_PYWB=$(abspath $(PYWB_VENV)) $(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/crawl_vs_wget.py
	$(PY) benchmarks/verify_vs_bagit.py

clean:
	rm -rf $(VENV) build src/*.egg-info
