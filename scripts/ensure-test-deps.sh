#!/bin/sh
# Install the system packages the test suite drives, when missing: npm (the Fedify interop
# peer brings its own Node 24 through npm) and Debian's Chromium (browser tests).
set -eu
need=""
command -v npm >/dev/null 2>&1 || need="$need npm"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
if [ -n "$need" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-test-deps: please install:$need" >&2
    exit 1
  fi
  echo "ensure-test-deps: installing$need" >&2
  apt-get update -qq >&2
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >&2
fi
