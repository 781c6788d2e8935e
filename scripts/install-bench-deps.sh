#!/usr/bin/env bash
# Installs what the speed benchmark (benches/run.sh) compares retrace with and measures it by,
# from Debian packages: jq, lnav, GNU time (peak memory) and gzip. Safe to run again: it does
# nothing when they are all there. Needs root or sudo, and apt-get.
set -euo pipefail

missing=()
command -v jq >/dev/null 2>&1 || missing+=(jq)
command -v lnav >/dev/null 2>&1 || missing+=(lnav)
[ -x /usr/bin/time ] || missing+=(time)
command -v gzip >/dev/null 2>&1 || missing+=(gzip)
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-bench-deps: jq, lnav, time and gzip already installed"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-bench-deps: no apt-get here; install ${missing[*]} yourself" >&2
    exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-bench-deps: not root and no sudo; install ${missing[*]} yourself" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
