#!/usr/bin/env bash
# Make PostgreSQL server binaries available for the test suite's throwaway server (tests/pg.py).
# Idempotent: installs Debian's `postgresql` package only when no /usr/lib/postgresql/*/bin/initdb exists, and
# makes sure the `postgres` system user exists (PostgreSQL refuses to run as root; the tests run it as that user).
set -euo pipefail

if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends postgresql
fi

if [ "$(id -u)" -eq 0 ] && ! id postgres > /dev/null 2>&1; then
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres
fi

ls -d /usr/lib/postgresql/*/bin/initdb
