#!/usr/bin/env bash
# `make run`: migrate, load the synthetic demo PCN (first time only), then run the web server,
# a Celery worker and Celery beat until Ctrl-C. With nothing configured: SQLite in var/ and a
# broker that needs no server; with DATABASE_URL / REDIS_URL set, PostgreSQL and Redis.
set -euo pipefail
PORT=${1:-8000}
PY=.venv/bin/python
export DEBUG=${DEBUG:-1} DEMO_MODE=1 HTTPS=${HTTPS:-0}

$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo --if-empty

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

mkdir -p var/log
.venv/bin/celery -A pcn worker --loglevel=INFO --concurrency=2 >var/log/worker.log 2>&1 & pids+=($!)
.venv/bin/celery -A pcn beat --loglevel=INFO >var/log/beat.log 2>&1 & pids+=($!)
$PY manage.py runserver "127.0.0.1:$PORT" & pids+=($!)

sleep 2
cat <<MSG

  PCN Care Coordination (demo) is running: http://127.0.0.1:$PORT/

  Sign in with one of the demo users (password: demo-password-1234):
    coordinator@demo.pcn.test   care coordinator at the first practice
    coordinator2@demo.pcn.test  care coordinator at the second practice
    lead@demo.pcn.test          clinical lead, all practices
    manager@demo.pcn.test       PCN manager, all practices
    admin@demo.pcn.test         administrator (audit, users, practices)
  Two-factor code for a demo user (demo mode only):
    DEMO_MODE=1 .venv/bin/python manage.py demo_totp coordinator@demo.pcn.test
  Worker and beat logs: var/log/. Stop with Ctrl-C.

MSG
wait -n "${pids[@]}"
