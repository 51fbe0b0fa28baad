# deskmail: `make run` starts the whole service locally, `make test` runs every test. Both install first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: install catalogs browser lint test test-unit test-browser run bench clean lock

# Installs only what the hashed lockfile names (make lock regenerates the locks from the requirements*.txt files).
$(VENV)/.installed: requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes -r requirements-dev.lock
	touch $@

install: $(VENV)/.installed catalogs

# gettext catalogues: .po files are in git, the .mo files are built here (and shipped in the Lambda package).
catalogs: $(VENV)/.installed
	@if ls chalicelib/locales/*/LC_MESSAGES/deskmail.po >/dev/null 2>&1; then \
		$(VENV)/bin/pybabel compile -d chalicelib/locales -D deskmail 2>/dev/null; fi

# Debian's Chromium for the browser tests (Playwright drives it; `playwright install` cannot download browsers here).
browser:
	@command -v chromium >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check app.py chalicelib tests bench scripts deskmail_local
	$(VENV)/bin/mypy chalicelib deskmail_local

# Every test once: the app's tests first, recording the AWS calls each function makes in the integration tests
# (tests/infrastructure/aws_calls/recorder.py), then the infrastructure tests, whose roles test checks them.
AWS_CALLS := .local/aws-calls/calls.json
test: install lint browser
	rm -rf $(dir $(AWS_CALLS)) && mkdir -p $(dir $(AWS_CALLS))
	DESKMAIL_AWS_CALLS_OUT=$(AWS_CALLS) DESKMAIL_AWS_CALLS_ONLY=tests/integration \
		$(PY) -m pytest -q -n 2 --dist loadgroup -p tests.infrastructure.aws_calls.recorder tests \
		--ignore=tests/infrastructure
	DESKMAIL_AWS_CALLS_FROM=$(AWS_CALLS) $(MAKE) --no-print-directory test-infra

test-browser: install browser
	$(VENV)/bin/pytest -q tests/browser

test-unit: install
	$(VENV)/bin/pytest -q tests/unit

run: install
	$(PY) -m deskmail_local

bench: install
	$(PY) -m bench.run

# Hashed lockfiles from the requirements*.txt files: dev and infra for this machine's Python, the Lambda
# package's for the Lambda runtime's Python. Needs the package index; `make install` then needs nothing else.
UV_COMPILE = $(VENV)/bin/uv pip compile -q --generate-hashes
lock: $(VENV)/.installed
	$(UV_COMPILE) --python-version 3.11.7 requirements-dev.txt -o requirements-dev.lock
	$(UV_COMPILE) --python-version 3.11.7 requirements-dev.txt requirements-infra.txt -o requirements-infra.lock
	$(UV_COMPILE) --python-version 3.11.7 requirements-checkov.txt -o requirements-checkov.lock
	$(UV_COMPILE) --python-version 3.13 --python-platform x86_64-manylinux_2_28 requirements.txt -o requirements.lock

clean:
	rm -rf $(VENV) .local cdk.out chalice.out .pytest_cache .mypy_cache .ruff_cache

include infrastructure/infra.mk
