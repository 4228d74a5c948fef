#!/usr/bin/env bash
# Quarto for the Quarto route's tests (`make quarto-tools`, run by `make test`): installs the real Quarto CLI
# into .cache/quarto from the offline bundle beside the clone (../shared/tools/quarto, about 20 s), when it is
# there and Quarto is not installed yet. It never fails the build: without it the Quarto tests skip, saying why.
# An analyst installs Quarto the usual way instead (conda: it comes with environment.yml; or quarto.org).
set -u
cd "$(dirname "$0")/.."
PREFIX=.cache/quarto
BUNDLE=${RAP_QUARTO_BUNDLE:-../shared/tools/quarto}
if [ -x "$PREFIX/bin/quarto" ]; then
  exit 0
fi
if [ ! -f "$BUNDLE/install.sh" ]; then
  echo "quarto-tools: no Quarto bundle at $BUNDLE: the Quarto route's tests will be skipped"
  exit 0
fi
mkdir -p .cache
echo "quarto-tools: installing Quarto from $BUNDLE into $PREFIX (log in .cache/quarto-install.log)"
bash "$BUNDLE/install.sh" "$PREFIX" > .cache/quarto-install.log 2>&1 \
  || echo "quarto-tools: the install failed (see .cache/quarto-install.log): the Quarto route's tests will be skipped"
exit 0
