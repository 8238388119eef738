# Safeguard — the two set-up commands are `make demo` and `make test` (README Quickstart).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export SAFEGUARD_PORT ?= 8000

.PHONY: demo test lint bench install install-test permissions-doc clean system-check system-packages

# Attachment screening reads images with Tesseract OCR, a Debian package, not a pip one
# (docs/cases.md "Attachments"). Without it images cannot be screened and are quarantined; the
# test suite needs it. Install: sudo apt-get install tesseract-ocr
TESSERACT_HINT := Tesseract OCR is not installed: sudo apt-get install tesseract-ocr

# Progress on the first install (issue 15): numbered steps, and pip's own progress bar and
# "Collecting ..." lines instead of minutes of silence (-q would hide both).
$(VENV)/.installed: pyproject.toml
	@echo "[install 1/3] Python environment in $(VENV)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "[install 2/3] pip"
	@$(BIN)/python -m pip install -q --upgrade pip
	@echo "[install 3/3] Safeguard and its dependencies (the first time: a few minutes)"
	@$(BIN)/python -m pip install --progress-bar on -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	@echo "[install] test dependencies"
	@$(BIN)/python -m pip install --progress-bar on -e '.[test]'
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## system-packages: the Debian packages the suite needs (chromium, rsyslog, dovecot, redis-server,
## tesseract-ocr, PostgreSQL client, Pango): installed when root, else the exact command printed.
## One list, in .ci/system-packages; .ci/run calls this target too.
system-packages:
	@.ci/system-packages

## system-check: only say which of those packages are missing (never installs)
system-check:
	@.ci/system-packages --check

## demo: install into .venv, prepare SQLite + demo data in ./var, serve on 127.0.0.1:$SAFEGUARD_PORT
demo: install
	@command -v tesseract >/dev/null || echo "warning: $(TESSERACT_HINT); image attachments will be quarantined" >&2
	SAFEGUARD_ENV=demo $(BIN)/safeguard demo --port $(SAFEGUARD_PORT)

## test: install test dependencies and run the suite (DATABASE_URL selects PostgreSQL)
test: system-packages install-test
	$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

## lint: ruff, import contracts, mypy, migrations in sync
lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	SAFEGUARD_ENV=test $(BIN)/mypy src/safeguard
	SAFEGUARD_ENV=test $(BIN)/safeguard makemigrations --check --dry-run

## bench: run every benchmark in bench/ (results in bench/results/*.json)
bench: install-test
	$(BIN)/python -m pip install -q -e '.[bench]'
	@set -e; for f in bench/*/bench_*.py; do echo "== $$f"; $(BIN)/python $$f; done

## permissions-doc: regenerate docs/permissions.md from the registry
permissions-doc: install
	SAFEGUARD_ENV=test $(BIN)/safeguard permissions --markdown > docs/permissions.md

clean:
	rm -rf $(VENV) var
