# Two commands on a fresh machine:  `make demo` (the main job) and `make test`.
# Both create .venv and install what is needed the first time.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.tympan-installed
# A local CPU build of torch lies here on our machines; installing it by exact version keeps pip
# from pulling several GB of CUDA packages. Where it is absent, torch is skipped (tests that need
# it skip too) and jax remains the backend.
TORCH_WHEEL := $(firstword $(wildcard /opt/wheels/torch-2.13.0*.whl))
HAVE_TORCH   = $(shell $(BIN)/python -c "import torch" 2>/dev/null && echo yes)

.PHONY: demo test test-fast lint bench clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
ifneq ($(TORCH_WHEEL),)
	$(BIN)/python -m pip install -q torch==2.13.0
endif
	$(BIN)/python -m pip install -q -e ".[jax,plot,dev,onnx,serve,ray]"
	touch $(STAMP)

# The main job: train on the bundled digits (speaker-disjoint test), save, predict a file.
demo: $(STAMP)
	$(BIN)/tympan demo

# The browser test (tests/serve/test_browser.py) drives Chromium through chromedriver: installed
# from Debian's packages the first time (as root, or through sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ $(SUDO) apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; }

# The whole suite on the default backend (jax), then the layer tests on torch, then ruff.
test: $(STAMP) chromium
	$(BIN)/python -m pytest -q -n 2 -m "not slow"
	@if [ "$(HAVE_TORCH)" = yes ]; then \
		echo "== layer tests on the torch backend =="; \
		KERAS_BACKEND=torch $(BIN)/python -m pytest -q -n 2 -m "not slow" tests/layers; \
	else echo "torch not installed: layer tests on torch skipped"; fi
	$(BIN)/ruff check .

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/backends.py
	$(BIN)/python benchmarks/features.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
