# The two commands a newcomer needs (see README): `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export WEB_HOST ?= 127.0.0.1
export WEB_PORT ?= 8000
export RTMP_PORT ?= 1935
export HLS_PORT ?= 8080
export REDIS_URL ?= redis://127.0.0.1:6379/0
export DJANGO_SETTINGS_MODULE ?= config.settings.local
export PYTHONUNBUFFERED := 1

VENV := .venv/bin

.PHONY: help run test

help:
	@echo "make run   install what is missing, migrate, seed demo users, start the whole stack"
	@echo "make test  install what is missing and run the whole test suite"

run:
	@scripts/bootstrap.sh run
	$(VENV)/python manage.py migrate --noinput
	$(VENV)/python manage.py seed_demo
	$(VENV)/python manage.py collectstatic --noinput -v0
	$(VENV)/python manage.py media_server_config
	$(VENV)/honcho -f Procfile start

test:
	@scripts/bootstrap.sh test
	DJANGO_SETTINGS_MODULE=config.settings.test $(VENV)/pytest $(PYTEST_ARGS)
