#!/usr/bin/env bash
# Runs the official-SDK compatibility suite against `cityform emulator`.
#
# Creates a virtual environment (once) with the pinned SDKs, builds the binary unless
# CITYFORM_BIN names one, and runs pytest. Extra arguments go to pytest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${CITYFORM_COMPAT_VENV:-$target/compat-venv}"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# pip skips what is already installed at the pinned version, so this is quick after the first run.
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"

if [ -z "${CITYFORM_BIN:-}" ]; then
  (cd "$root" && cargo build --quiet --bin cityform)
  export CITYFORM_BIN="$target/debug/cityform"
fi

cd "$here"
exec "$venv/bin/python" -m pytest -p no:cacheprovider "$@" test_official_sdk.py
