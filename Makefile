# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install install-test demo test bench clean

$(BIN)/cl: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@# the distribution was called `cl` before it was renamed `cl-worksheets`
	if $(BIN)/pip show -q cl >/dev/null 2>&1; then $(BIN)/pip uninstall -q -y cl; fi
	$(BIN)/pip install -q -e .
	touch $(BIN)/cl

install: $(BIN)/cl

install-test: install
	$(BIN)/pip install -q -e '.[test]'

demo: install
	PATH="$(abspath $(BIN)):$$PATH" bash demo/demo.sh

test: install-test
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# cl runs from its compiled bytecode, as it would on a user's machine, even
# where PYTHONDONTWRITEBYTECODE is set (every edited module would be compiled
# again at each start-up).
bench: install
	$(BIN)/python -m compileall -q cl
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info bench/.work
