#!/usr/bin/env bash
# The GPU check on a lent machine, whose image has PyTorch with CUDA but not hydra-core or omegaconf and
# cannot download: install the wheels carried in .whl/ (prepare them here once with
#   pip download hydra-core omegaconf antlr4-python3-runtime==4.9.3 -d .whl --no-deps
# and pass .whl in the device tool's carry list), install pinnsolve without dependencies, then run
# scripts/benchmarks/gpu_check.py. Reports go to docs/gpu/ (and $OUT when set, so the device tool brings them back).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -d .whl ]; then python3 -m pip install -q --no-index --find-links .whl hydra-core omegaconf; fi
python3 -m pip install -q --no-deps --no-build-isolation -e .
python3 scripts/benchmarks/gpu_check.py "$@"
if [ -n "${OUT:-}" ]; then cp docs/gpu/gpu_check_*.md "$OUT"/ 2>/dev/null || true; fi
