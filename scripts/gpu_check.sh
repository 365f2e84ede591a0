#!/usr/bin/env bash
# The documented entry point `bash scripts/gpu_check.sh [args]`; the check lives in scripts/benchmarks/.
exec bash "$(dirname "$0")/benchmarks/gpu_check.sh" "$@"
