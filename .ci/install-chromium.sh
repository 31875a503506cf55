#!/usr/bin/env bash
# Make Debian's Chromium available for the browser tests (tests/browser, driven headless by Playwright's Python
# client with executable_path=/usr/bin/chromium). Idempotent: installs the `chromium` package only when missing.
set -euo pipefail

if ! command -v chromium > /dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium
fi

chromium --version
