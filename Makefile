# Koers: `make run` sets everything up and starts Koers; `make test` sets up and tests.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.koers-installed
SPACY  := build/spacy-nl/KOERS
# The browser tests drive Debian's chromium with Playwright (no browser downloads).
CHROMIUM := /usr/bin/chromium
# The https deploy test (tests/deploy) runs Debian's nginx and a throw-away PostgreSQL.
NGINX    := /usr/sbin/nginx
PG_DUMP  := /usr/bin/pg_dump
# Scale-out (issue 13): throw-away local PostgreSQL (the $(PG_DUMP) target installs it) and
# Redis from Debian's packages.
REDIS_SERVER := /usr/bin/redis-server
RASA_INSTANCES ?= 2

# Quiet TensorFlow, SQLAlchemy and Rasa telemetry everywhere.
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_INTRA_OP_PARALLELISM_THREADS := 1
export TF_INTER_OP_PARALLELISM_THREADS := 1
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false
export PYTHONWARNINGS := ignore
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Lines of pip output that are noise on machines with local package mirrors.
PIP_NOISE := is ignored: it is neither a file|BuildBackendWarning|^\s*!!|\*\*\*\*|SPDX|project.license|By 20..-|See https://packaging|corresp\(dist|Please use a simple|Editable installation|Please be careful|name as your package|with strategy|^\s*$$

.PHONY: help setup run chat test test-fast validate lint train build migrate benchmark benchmark-dashboard benchmark-webchat short-answers clean constraints postgresql-server pg-test services run-scaled benchmark-load profile

# Every target has a `## description` on its line; `make help` lists them (a test checks that
# none is missing).
help: ## list the targets
	@awk -F':.*## ' '/^[a-zA-Z][a-zA-Z_-]*:.*## / {printf "  make %-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# --- set-up -------------------------------------------------------------------------------

$(STAMP): pyproject.toml constraints.txt
	@py=""; \
	for c in python3.10 "$$(pyenv root 2>/dev/null)/versions/3.10"*/bin/python /usr/local/bin/python3.10 /usr/bin/python3.10; do \
	  if [ -n "$$c" ] && command -v "$$c" >/dev/null 2>&1 && "$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then py="$$c"; break; fi; \
	done; \
	if [ -z "$$py" ]; then \
	  echo "Koers needs Python 3.10 (Rasa 3.6 does not run on 3.11 or newer)."; \
	  echo "Install it, for example 'sudo apt install python3.10 python3.10-venv' or 'pyenv install 3.10.13', then run make again."; \
	  exit 1; \
	fi; \
	if [ -x $(PY) ] && $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then \
	  echo "==> Updating $(VENV) (pyproject.toml or constraints.txt changed)"; \
	else \
	  echo "==> Creating $(VENV) with $$py"; \
	  rm -rf $(VENV) && "$$py" -m venv $(VENV); \
	fi
	@echo "==> Installing Python packages (first time about 2-3 minutes)..."
	@set -o pipefail; $(PY) -m pip install --progress-bar off -c constraints.txt -e '.[dev,build]' 2>&1 \
	  | { grep -Ev '$(PIP_NOISE)' || true; } \
	  | awk '/^Collecting /{n++; if (n % 20 == 0) printf("    %d packages resolved...\n", n); next} /^(ERROR|WARNING: pip|Successfully installed)/{print substr($$0, 1, 160)}'
	@touch $(STAMP)

$(SPACY): $(STAMP) bot/nlp.py
	@echo "==> Building the offline Dutch spaCy pipeline"
	@$(PY) -m bot.nlp build --force

setup: $(STAMP) $(SPACY) ## create .venv and build the Dutch spaCy pipeline (first time 3-5 minutes)

$(CHROMIUM):
	@echo "==> The browser tests need Debian's chromium; installing it with apt-get (about 1 minute)"
	@if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
	$$sudo apt-get update -qq >/dev/null && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null \
	  || { echo "Could not install chromium. Install it by hand: apt-get install chromium"; exit 1; }

# Debian's nginx for the https test. Installing it starts no server (the test runs its own
# nginx with a throw-away configuration on a free port).
$(NGINX):
	@echo "==> The https test needs Debian's nginx; installing it with apt-get (about 30 seconds)"
	@if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
	$$sudo apt-get update -qq >/dev/null && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq nginx >/dev/null \
	  || { echo "Could not install nginx. Install it by hand: apt-get install nginx"; exit 1; }

# Debian's PostgreSQL server and client tools (initdb, pg_ctl, pg_dump, pg_restore) for the
# deploy test, which starts its own throw-away cluster in a temporary folder.
postgresql-server: $(PG_DUMP) ## install Debian's PostgreSQL (for the deploy test and make pg-test)
$(PG_DUMP):
	@echo "==> The deploy test needs Debian's PostgreSQL; installing it with apt-get (about 1 minute)"
	@if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
	$$sudo apt-get update -qq >/dev/null && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq postgresql postgresql-client >/dev/null \
	  || { echo "Could not install PostgreSQL. Install it by hand: apt-get install postgresql"; exit 1; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "PostgreSQL's initdb is missing"; exit 1; }

$(REDIS_SERVER):
	@echo "==> Scale-out needs Debian's redis-server; installing it with apt-get"
	@if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
	$$sudo apt-get update -qq >/dev/null && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq redis-server >/dev/null \
	  || { echo "Could not install redis-server. Install it by hand: apt-get install redis-server"; exit 1; }; \
	$$sudo systemctl disable --now redis-server >/dev/null 2>&1 || true

# Both servers are only installed here; bot.localservices starts throw-away copies of them.
services: $(REDIS_SERVER) $(PG_DUMP) ## install Debian's PostgreSQL and Redis for scale-out (docs/scaling.md)

build: $(SPACY) ## build the offline Dutch spaCy pipeline

migrate: setup ## create or upgrade the local database (Alembic)
	@$(PY) -m bot.storage.db upgrade

train: setup ## train the Rasa model when its inputs changed
	@$(PY) -m bot.trainer >/dev/null

# --- the two commands ---------------------------------------------------------------------

run: migrate train ## set up (first time about 20 minutes) and start Koers on 127.0.0.1
	@$(PY) -m bot.serve --demo

chat: setup ## talk to a running Koers in this terminal
	@$(PY) -m bot.cli chat

# Several Rasa instances on throw-away PostgreSQL + Redis (docs/scaling.md); Ctrl-C stops all.
run-scaled: migrate train services ## start Koers with RASA_INSTANCES=2 Rasa instances on throw-away PostgreSQL + Redis
	@$(PY) -m bot.localservices run --instances $(RASA_INSTANCES) -- $(PY) -m bot.serve --demo

test: lint migrate train $(CHROMIUM) $(NGINX) services ## set up and run every test (trains the model when data changed)
	@echo "==> Running the tests"
	@$(PY) -m pytest

test-fast: setup $(CHROMIUM) services ## the tests that need no trained model
	@$(PY) -m pytest -m "not slow"

validate: setup ## rasa data validate on the domain, data and config
	@$(PY) -m rasa data validate --data data -d domain.yml --config config.yml 2>&1 | grep -Ev 'DeprecationWarning|declare_namespace|pkg_resources|xla_computation|is not used in any story'

lint: setup ## ruff check, ruff format --check and mypy
	@echo "==> ruff check, ruff format --check and mypy"
	@$(VENV)/bin/ruff check bot actions tests benchmarks
	@$(VENV)/bin/ruff format --check --quiet bot actions tests benchmarks || { echo "Run: .venv/bin/ruff format bot actions tests benchmarks"; exit 1; }
	@$(VENV)/bin/mypy --no-error-summary

# The storage tests (and the retention, backup and audit-chain tests) against a throw-away
# PostgreSQL cluster: started in a temporary folder on a free port, removed afterwards.
pg-test: setup $(PG_DUMP) ## the storage tests on a throw-away PostgreSQL
	@$(PY) -m tests.pgcluster -- $(PY) -m pytest -q tests/unit/test_repository.py tests/unit/test_ops_storage.py

benchmark: migrate train ## turn latency: Koers before/after and stock Rasa, started by the script (docs/benchmarks.md)
	@$(PY) benchmarks/latency.py

benchmark-load: migrate train services ## the load and fault suite (docs/benchmarks.md, docs/scaling.md)
	@$(PY) benchmarks/load.py

# A py-spy profile of Rasa under the 20-client load (see docs/benchmarks.md).
profile: migrate train ## a py-spy profile of Rasa under the 20-client load
	@$(PY) benchmarks/latency.py --profile

benchmark-dashboard: migrate ## measure the dashboard pages (docs/benchmarks.md)
	@$(PY) benchmarks/dashboard.py

benchmark-webchat: migrate train ## measure the web chat end to end (docs/benchmarks.md)
	@$(PY) benchmarks/webchat.py

short-answers: setup train ## send the held-out short answers through the whole bot (counts only)
	@$(PY) -m bot.short_answers

constraints: $(STAMP) ## rewrite constraints.txt from the virtualenv (pip freeze)
	@( echo "# Full pinned freeze for Python 3.10 (pip install -c constraints.txt). Regenerate with: make constraints"; \
	   $(PY) -m pip freeze --exclude-editable | grep -v '^-e' ) > constraints.txt

clean: ## remove the virtualenv, built pipeline, models and local data
	rm -rf $(VENV) build models .rasa var test-output results *.egg-info
