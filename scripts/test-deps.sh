#!/usr/bin/env bash
# Debian packages the tests need: chromium (browser tests, driven by Playwright; never a
# downloaded browser), poppler-utils (pdftotext for PDF checks), fonts for weasyprint.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
fc-list 2>/dev/null | grep -qi "dejavu" || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "The tests need these Debian packages: ${need[*]} (apt-get install them as root)." >&2
    exit 1
  fi
  echo "Installing ${need[*]}…"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
