#!/usr/bin/env bash
# Make sure the system packages the tests need are here: PostgreSQL, Redis, Chromium, and
# poppler-utils (pdftoppm renders the handout PDF to a PNG in test-artifacts/ for a look), and
# curl (the newcomer's long-URL request to `make run`'s web process, tests/portal/test_run_web.py),
# and ffmpeg (the exercise-video tests encode a short real video: tests/media_files.py).
# Installs what is missing (apt-get update once); with CI=true a missing one is fatal.
set -euo pipefail

find_missing() {
  missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
}

find_missing
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "sysdeps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "sysdeps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y "${missing[@]}"

# A package can install without the piece the tests look for; never let that pass silently.
find_missing
if [ ${#missing[@]} -ne 0 ]; then
  echo "sysdeps: still missing after install: ${missing[*]}" >&2
  exit 1
fi
