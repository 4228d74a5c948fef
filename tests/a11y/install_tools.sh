#!/usr/bin/env bash
# What tests/test_accessibility.py (and the PDF text check of test_report_render.py) needs, installed when missing (`make a11y-tools`, run by `make test`):
#   * Chromium: the Debian package `chromium` (apt-get, only as root);
#   * Node.js and npm: Debian packages `nodejs npm` (same condition), when npm is missing;
#   * axe-core and playwright-core, pinned, with npm into .cache/node (git-ignored). playwright-core only
#     drives the system Chromium; it never downloads a browser.
# Quick when everything is there (no network). It never fails the build: when something cannot be had it
# says why, and the accessibility test skips, printing the same reason.
set -u
cd "$(dirname "$0")/../.."

AXE_CORE=4.14.1
# the newest playwright-core that runs on Node.js 18 (Debian 12's); it drives Chromium 156 fine
PLAYWRIGHT_CORE=1.61.1
NODE_DIR=.cache/node
LOG=$NODE_DIR/install.log
mkdir -p "$NODE_DIR"

say() { echo "a11y-tools: $*"; }
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

APT_UPDATED=
apt_install() {
  if [ -z "$APT_UPDATED" ]; then
    apt-get update -qq >>"$LOG" 2>&1 || return 1
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >>"$LOG" 2>&1
}

if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if can_apt; then
    say "installing Chromium (apt-get install chromium; log in $LOG)"
    apt_install chromium \
      || say "apt-get could not install chromium (see $LOG): the accessibility test will be skipped"
  else
    say "Chromium is not installed and installing it needs root and apt-get (Debian: apt-get install" \
        "chromium): the accessibility test will be skipped"
  fi
fi

# pdftotext (poppler-utils) lets tests/test_report_render.py read the PDF's text; it skips that part without it.
if ! command -v pdftotext >/dev/null 2>&1 && can_apt; then
  say "installing poppler-utils (apt-get install poppler-utils; log in $LOG)"
  apt_install poppler-utils || say "apt-get could not install poppler-utils (see $LOG): the PDF text check will be skipped"
fi

if ! command -v npm >/dev/null 2>&1; then
  if can_apt; then
    say "installing Node.js and npm (apt-get install nodejs npm; log in $LOG)"
    apt_install nodejs npm \
      || say "apt-get could not install nodejs and npm (see $LOG): the accessibility test will be skipped"
  else
    say "npm is not installed and installing it needs root and apt-get: the accessibility test will be skipped"
  fi
fi

installed() { grep -qs "\"version\": \"$2\"" "$NODE_DIR/node_modules/$1/package.json"; }
if command -v npm >/dev/null 2>&1 \
    && ! { installed axe-core "$AXE_CORE" && installed playwright-core "$PLAYWRIGHT_CORE"; }; then
  say "installing axe-core@$AXE_CORE and playwright-core@$PLAYWRIGHT_CORE into $NODE_DIR (npm)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$NODE_DIR" --no-save --no-package-lock \
      --no-audit --no-fund --loglevel=error "axe-core@$AXE_CORE" "playwright-core@$PLAYWRIGHT_CORE" >>"$LOG" 2>&1 \
    || say "npm install failed (see $LOG): the accessibility test will be skipped"
fi
exit 0
