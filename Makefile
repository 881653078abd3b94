# Two entry points, both idempotent: `make demo` and `make test`.
# They create .venv when missing, install the package with its pinned dependencies and the
# Debian packages the recipes need (espeak-ng, the Asterisk prompt corpus), then run.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.prosody_plugin_installed
NJ     ?= 2
DEMO_DIR  := egs2/asterisk/prosody1
DEMO_DONE := $(DEMO_DIR)/exp/.demo_done

.PHONY: demo test install system-deps clean-demo

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-installs only when setup.py changes (the package itself is installed editable).
$(STAMP): setup.py | $(PY)
	$(PY) -m pip install -q --upgrade "pip<25" wheel
	$(PY) -m pip install -q -e ".[test]"
	# ParallelWaveGAN-family vocoders (--vocoder_file *.pkl); its setup.py imports pip,
	# so it cannot build in pip's isolated environment.
	$(PY) -m pip install -q --no-build-isolation "parallel-wavegan==0.6.1"
	touch $@

system-deps:
	@bash tools/install_system_deps.sh

install: $(STAMP) system-deps

# The recipe runs once; a second `make demo` only lists the decoded wavs and the listening pages
# (`make clean-demo` starts over; `cd $(DEMO_DIR) && ./run.sh --stage N` re-runs from stage N).
demo: install $(DEMO_DONE)
	@cd $(DEMO_DIR) && ./run.sh --stage 100

$(DEMO_DONE):
	cd $(DEMO_DIR) && ./run.sh --nj $(NJ)
	touch $@

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q -p no:cacheprovider --durations=15 tests

clean-demo:
	rm -rf $(DEMO_DIR)/data $(DEMO_DIR)/dump $(DEMO_DIR)/exp $(DEMO_DIR)/downloads
