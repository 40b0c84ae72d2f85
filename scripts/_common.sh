# Shared helpers of the scripts; sourced, not run.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Print the path of a Python 3.13 that really runs. A pyenv shim named
# python3.13 may be on PATH and fail unless pyenv selects 3.13, so every
# candidate is run, not just looked up.
find_python() {
  local candidates=() c
  [ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
  candidates+=(python3.13)
  if command -v pyenv >/dev/null 2>&1; then
    local prefix
    prefix="$(pyenv prefix 3.13.0 2>/dev/null || true)"
    [ -n "$prefix" ] && candidates+=("$prefix/bin/python3.13")
    for prefix in "$(pyenv root 2>/dev/null)"/versions/3.13.*; do
      [ -x "$prefix/bin/python3.13" ] && candidates+=("$prefix/bin/python3.13")
    done
  fi
  candidates+=(/usr/local/bin/python3.13 /usr/bin/python3.13 python3)
  for c in "${candidates[@]}"; do
    if "$c" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 13) else 1)' >/dev/null 2>&1; then
      "$c" -c 'import sys; print(sys.executable)'
      return 0
    fi
  done
  return 1
}

# Create the virtualenv if it is missing, and (re)install the test
# requirements when requirements_test.txt changed since the last install.
ensure_venv() {
  local stamp="$VENV/.requirements.sha256" want py
  want="$(sha256sum "$ROOT/requirements_test.txt" | cut -d' ' -f1)"
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  py="$(find_python)" || die "Python 3.13 is needed (Home Assistant 2025.4.4 runs on it) and none was found.
Install it (for example: pyenv install 3.13.0) or point PYTHON at one: PYTHON=/path/to/python3.13 $0"
  if [ ! -x "$VENV/bin/python" ]; then
    log "Creating the virtualenv in $VENV with $py"
    "$py" -m venv "$VENV"
  fi
  log "Installing the test requirements (about 5 minutes on a fresh machine; log in $VENV/install.log)"
  if ! { "$VENV/bin/python" -m pip install --upgrade pip \
        && "$VENV/bin/python" -m pip install -r "$ROOT/requirements_test.txt"; } >"$VENV/install.log" 2>&1; then
    grep -v "is ignored: it is neither a file nor a directory" "$VENV/install.log" | tail -n 40 >&2
    die "installing the test requirements failed (full log: $VENV/install.log)"
  fi
  echo "$want" >"$stamp"
}
