#!/usr/bin/env bash
# The test command (`npm test`): install what is needed, then lint, typecheck, unit tests and
# integration tests against real systemd machines (those need root; as another user they skip).
set -euo pipefail
cd "$(dirname "$0")/.."
bash install/deps.sh --dev
npm run -s build
npx biome check src test
# One machine at a time: the throwaway machines share the host's cgroup tree.
node --test --test-concurrency=1 "${@:-dist/test/}"
