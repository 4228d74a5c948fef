#!/usr/bin/env bash
# Run DfE's SSDA903 validator (csc-validator-be-903) in its own virtualenv.
#
# The validator pins pandas<2 and numpy<1.25, so it never goes into the project's .venv. This script
# creates .venv-validator (git-ignored by `.venv-*/`) on first use, installs the pinned validator, and
# runs tools/validate_903.py with that venv's python, passing every argument through:
#
#   bash tools/validate_903.sh                       # all years and LAs under data/synthetic/ssda903
#   bash tools/validate_903.sh --sample 10           # 10 LAs (deterministic), all years
#   bash tools/validate_903.sh --folder ../shared/reference-data/ssda903-sample --out outputs/validation-903-sample
#   bash tools/validate_903.sh --help
#
# Environment: PYTHON (default python3, 3.9+), VALIDATOR_VENV (default <repo>/.venv-validator).
set -euo pipefail

VALIDATOR_PKG="csc-validator-be-903"
VALIDATOR_VERSION="0.1.17"   # the version tested with this tool; bump deliberately (rule packs change)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VALIDATOR_VENV:-$ROOT/.venv-validator}"
PY="$VENV/bin/python"
STAMP="$VENV/.installed-$VALIDATOR_PKG-$VALIDATOR_VERSION"
PYTHON="${PYTHON:-python3}"

if [[ ! -f "$STAMP" ]]; then
    if [[ ! -x "$PY" ]]; then
        echo "validate_903: creating validator environment $VENV" >&2
        if ! "$PYTHON" -m venv "$VENV"; then
            echo "validate_903: error: '$PYTHON -m venv' failed (is python3-venv installed?)" >&2
            exit 2
        fi
    fi
    echo "validate_903: installing $VALIDATOR_PKG==$VALIDATOR_VERSION into $VENV (once)" >&2
    LOG="$VENV/pip-install.log"
    if ! { "$PY" -m pip install --quiet --upgrade pip \
           && "$PY" -m pip install --quiet "$VALIDATOR_PKG==$VALIDATOR_VERSION"; } >"$LOG" 2>&1; then
        echo "validate_903: error: pip install failed; last lines of $LOG:" >&2
        grep -v "is ignored: it is neither a file nor a directory" "$LOG" | tail -n 20 >&2
        exit 2
    fi
    if ! "$PY" -c "import lac_validator.lac_validator" >/dev/null 2>&1; then
        echo "validate_903: error: lac_validator does not import in $VENV" >&2
        exit 2
    fi
    rm -f "$VENV"/.installed-* && touch "$STAMP"
fi

cd "$ROOT"
exec "$PY" "$ROOT/tools/validate_903.py" "$@"
