# The two commands a newcomer types: `make demo` and `make test`.
# Both create (or reuse) a virtual environment in .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench venv clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch pinned: this project's machines install 2.13.0 as a CPU wheel from local disk, where
	# an unpinned torch would pull a multi-GB CUDA build (elsewhere, pip's
	# --index-url https://download.pytorch.org/whl/cpu gives the CPU build)
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[test,plot]"
	# compile the numba kernels once, here, not in the user's first run (about 60 s of CPU:
	# every filter on 8-bit, 16-bit and float pixels)
	$(VENV)/bin/framemend warmup
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/framemend demo -o demo-output -y

test: $(STAMP)
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) demo-output
