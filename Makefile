# Signalboard: `make run` starts the product, `make test` runs every test.
# Only Python 3.11 is needed on the machine; everything else goes into .venv.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test lint install test-deps clean

$(PY):
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# First run only: fresh secrets, and the TikTok clients pointed at the built-in sandbox.
.env: | $(STAMP)
	@$(PY) -c "import secrets; from cryptography.fernet import Fernet; \
	open('.env', 'w').write( \
	'# Written by make run; never commit this file.\n' \
	'DEBUG=true\n' \
	f'SECRET_KEY={secrets.token_urlsafe(50)}\n' \
	f'FIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n' \
	'PUBLIC_BASE_URL=http://$(HOST):$(PORT)\n' \
	'TIKTOK_SANDBOX=true\n' \
	'TIKTOK_API_BASE_URL=http://$(HOST):$(PORT)/tiktok-sandbox\n' \
	'TIKTOK_APP_ID=7301234567890123457\n' \
	f'TIKTOK_APP_SECRET={secrets.token_hex(20)}\n')"
	@echo "Wrote .env with fresh secrets"

run: $(STAMP) .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py refresh_datacenter_ranges --if-empty
	@echo ""
	@echo "Signalboard is starting at http://$(HOST):$(PORT)/  (Ctrl-C stops the web server and the task cluster)"
	@$(PY) manage.py qcluster & q=$$!; \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT) & w=$$!; \
	trap 'kill -TERM $$q $$w 2>/dev/null' INT TERM; \
	wait -n; kill -TERM $$q $$w 2>/dev/null; wait

# Debian's Chromium drives the browser tests (Playwright never downloads a browser here), and a
# throwaway redis-server proves the optional REDIS_URL backends. Installed only when missing.
test-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing=" chromium"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian's$$missing for the tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

test: $(STAMP) test-deps
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy integrations/services integrations/hooks.py integrations/setup_tabs.py integrations/tiktok events/services

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles
