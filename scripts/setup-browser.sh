#!/usr/bin/env bash
# Installs Debian's chromium for the report.html browser test (tests/integration/test_report_html.py).
# Idempotent: does nothing when chromium is already there. Root only; the test is skipped, with
# the reason, on a machine without it.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    echo "chromium already installed: $(chromium --version 2>/dev/null || true)"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
echo "installed $(chromium --version 2>/dev/null || echo chromium)"
