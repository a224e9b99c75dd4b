#!/usr/bin/env bash
# How long a new user waits: `pip install .` in a fresh clone and a fresh venv (build
# isolation, as the README says), then `pip install ".[EXTRA]"` again (the reinstall that
# the object cache in build/<wheel tag>/compile-cache makes fast). Prints wall and CPU time
# of each (bash's `time`: user+sys include the compiler processes). Run it on a quiet machine.
# It clones the committed HEAD (uncommitted changes are not measured).
#
#   bash bench/bench_reinstall.sh [EXTRA]      # EXTRA defaults to plot
set -euo pipefail
EXTRA=${1:-plot}
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/ranvier-reinstall.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
git clone -q "$SRC" "$WORK/src"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q --upgrade pip numpy
cd "$WORK/src"
TIMEFORMAT='wall %R s, user %U s, sys %S s'
echo "== first install: pip install ."
time "$WORK/venv/bin/pip" install -q . >"$WORK/first.log" 2>&1
# the extra's own packages first, so the second timing is the build and install alone
# shellcheck disable=SC2046
"$WORK/venv/bin/pip" install -q $("$WORK/venv/bin/python" - "$EXTRA" <<'PY'
import sys
try:
    import tomllib
except ImportError:  # Python < 3.11: the extra's packages are then timed too
    sys.exit()
extras = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]
print(" ".join(extras[sys.argv[1]]))
PY
) >/dev/null 2>&1 || true
echo "== reinstall: pip install \".[$EXTRA]\""
time "$WORK/venv/bin/pip" install -q ".[$EXTRA]" >"$WORK/second.log" 2>&1
echo "objects cached: $(find build -path '*compile-cache*' -name '*.o' | wc -l)"
