#!/usr/bin/env bash
# GOV.UK Frontend (npm package govuk-frontend, MIT licence, pinned) into .cache/govuk, for the report's HTML
# styling (rap.report.govuk; `make report-tools`, run by `make report` and `make test`). Quick when it is
# there (no network). It never fails the build: without npm or the registry it says why, and the report keeps
# its own stylesheet (the build prints which styling it used).
set -u
cd "$(dirname "$0")/.."
VERSION=$(sed -n 's/^VERSION = "\(.*\)"$/\1/p' src/rap/report/govuk.py)
NODE_DIR=.cache/govuk  # its own prefix: npm prunes packages it did not install itself (the a11y tools)
PKG=$NODE_DIR/node_modules/govuk-frontend/package.json
if [ -f "$PKG" ] && grep -q "\"version\": \"$VERSION\"" "$PKG"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "report-tools: npm not found (Debian: apt-get install npm): the HTML report keeps its own stylesheet"
  exit 0
fi
mkdir -p "$NODE_DIR"
echo "report-tools: installing govuk-frontend@$VERSION into $NODE_DIR (log in $NODE_DIR/install.log)"
npm install --prefix "$NODE_DIR" --no-audit --no-fund --no-save "govuk-frontend@$VERSION" >>"$NODE_DIR/install.log" 2>&1 \
  || echo "report-tools: npm could not install govuk-frontend (see $NODE_DIR/install.log): the HTML report keeps its own stylesheet"
exit 0
