#!/usr/bin/env bash
# The test command (`npm test`): install what is needed, then lint, typecheck, unit tests and
# integration tests against real systemd machines (those need root; as another user they skip).
set -euo pipefail
cd "$(dirname "$0")/.."
bash install/deps.sh --dev
rm -rf dist  # no stale compiled tests from deleted sources
npm run -s build
npx biome check src test
# One machine at a time: the throwaway machines share the host's cgroup tree.
# Explicit *.test.js files: a directory argument would also run helpers that live under test/.
if (($# == 0)); then mapfile -t files < <(find dist/test -name '*.test.js' | sort); set -- "${files[@]}"; fi
node --test --test-concurrency=1 "$@"
