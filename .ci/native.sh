#!/usr/bin/env bash
# CI: build the flowctl_native extension (native/, Rust + PyO3) into .venv with maturin.
# Without cargo it warns and exits 0: flowctl then runs on the pure-Python reference path.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || scripts/setup
if ! command -v cargo >/dev/null 2>&1; then
  echo "native.sh: cargo not found; skipping flowctl_native (pure-Python path)" >&2
  exit 0
fi
.venv/bin/python -m pip install --quiet "maturin>=1.7,<2"
start=$(date +%s)
CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-$(nproc)}" \
  .venv/bin/maturin develop --release --quiet -m native/Cargo.toml
.venv/bin/python -c "import flowctl_native as m; print('native.sh: flowctl_native', m.__version__, m.XDR_CRATE)"
echo "native.sh: built in $(($(date +%s) - start))s"
