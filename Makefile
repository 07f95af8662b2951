# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each creates .venv if missing and installs jepakit + every bundled plugin in editable mode first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PLUGINS := $(wildcard plugins/*/pyproject.toml)
STAMP  := $(VENV)/.jepakit-installed

.PHONY: demo test lint install bench clean fashion-mnist

$(STAMP): pyproject.toml constraints.txt $(PLUGINS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,data]' $(addprefix -e ,$(dir $(PLUGINS)))
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/jepakit demo

test: $(STAMP) fashion-mnist
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

# Lint and types (CI runs this before the tests): ruff's checks and formatting over the Python trees, then mypy
# over the `jepakit` package (tools/typecheck.py: core/ + cli/ as one package; strict on the public API).
LINT_PATHS := core cli plugins tests benchmarks tools
lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(PY) tools/typecheck.py

# Fashion-MNIST (core/fashion-mnist, ijepa/ijepa-fmnist) comes from Debian's dataset-fashion-mnist package:
# installed with apt-get when it is missing and we are root on a machine with apt-get; otherwise nothing
# happens and its tests skip, saying why.
FMNIST := /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
fashion-mnist:
	@if [ ! -f $(FMNIST) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null 2>&1 \
			|| echo "note: apt-get install dataset-fashion-mnist failed; its tests will skip"; \
	fi

bench: $(STAMP)
	$(PY) benchmarks/step_speed.py

clean:
	rm -rf $(VENV) runs
