#!/usr/bin/env bash
# Checks that every C++ file matches .clang-format. `--fix` rewrites them instead.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.cc' '*.h' '*.cu')
if [[ "${1:-}" == --fix ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "check-format: run 'bash scripts/check-format.sh --fix'" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
