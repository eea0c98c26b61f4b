#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, or explain and fail.
# Order: $PYTHON; pyenv's installed 3.12 then 3.13 (the lock files are compiled on 3.12; the
# `python3.12` on PATH is a pyenv shim that fails unless PYENV_VERSION selects it, so the real
# binaries are used); then python3.12 / python3.13 / python3 on PATH.
set -euo pipefail

ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for v in $(ls -d "$root"/versions/3.12.* 2>/dev/null | sort -rV) $(ls -d "$root"/versions/3.13.* 2>/dev/null | sort -rV); do
    candidates+=("$v/bin/python")
  done
fi
candidates+=(python3.12 python3.13 python3)

for c in "${candidates[@]}"; do
  if command -v "$c" >/dev/null 2>&1 && ok "$c"; then
    command -v "$c"
    exit 0
  fi
done

cat >&2 <<'MSG'
No Python 3.12 or newer was found (Django 6 needs it).
Tried: $PYTHON, pyenv's versions/3.13.* and 3.12.*, python3.13, python3.12, python3.
Install one (e.g. `pyenv install 3.12` or your distribution's python3.12), or point PYTHON at it:
  make run PYTHON=/path/to/python3.12
MSG
exit 1
