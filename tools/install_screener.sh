#!/usr/bin/env bash
# DfE's EES screener for the build's QA check and its tests (`make screener-tools`, run by `make test`): installs
# R (Debian, as root) and eesyscreener into .cache/eesyscreener from the offline bundle beside the clone
# (../shared/tools/eesyscreener, about 45 s), when it is there and not installed yet. It never fails the build:
# without it the QA check says it did not run and the screener's tests skip, saying why.
set -u
cd "$(dirname "$0")/.."
PREFIX=.cache/eesyscreener
BUNDLE=${RAP_SCREENER_BUNDLE:-../shared/tools/eesyscreener}
if [ -d "$PREFIX/rlib/eesyscreener" ] && command -v Rscript >/dev/null; then
  exit 0
fi
if [ ! -f "$BUNDLE/install.sh" ]; then
  echo "screener-tools: no eesyscreener bundle at $BUNDLE: the EES screener check will not run"
  exit 0
fi
mkdir -p .cache
echo "screener-tools: installing eesyscreener from $BUNDLE into $PREFIX (log in .cache/screener-install.log)"
bash "$BUNDLE/install.sh" "$PREFIX" > .cache/screener-install.log 2>&1 \
  || echo "screener-tools: the install failed (see .cache/screener-install.log): the EES screener check will not run"
exit 0
