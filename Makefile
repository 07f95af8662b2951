# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each creates .venv if missing and installs jepakit + every bundled plugin in editable mode first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PLUGINS := $(wildcard plugins/*/pyproject.toml)
STAMP  := $(VENV)/.jepakit-installed

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml constraints.txt $(PLUGINS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,data]' $(addprefix -e ,$(dir $(PLUGINS)))
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/jepakit demo

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/step_speed.py

clean:
	rm -rf $(VENV) runs
