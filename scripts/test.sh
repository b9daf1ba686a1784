#!/usr/bin/env bash
# The test command: installs what the tests need (.venv from locks/dev.txt, Debian's Chromium for the dashboard test,
# PostgreSQL for the store tests) and runs the whole suite. Extra arguments go to pytest,
# e.g. `bash scripts/test.sh -m "not slow"` for the quick part.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
if ! command -v chromium >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium postgresql >/dev/null
  else
    echo "note: chromium/postgresql missing and not root; the browser and PostgreSQL tests will fail" >&2
  fi
fi
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
# pytest exits 5 when nothing was collected: that is a failure here too.
exit $rc
