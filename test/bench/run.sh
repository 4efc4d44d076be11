#!/usr/bin/env bash
# `npm run bench` (as root): install, build, then measure everything the README quotes.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $(id -u) -eq 0 ]] || { echo "bench: run as root (it boots a throwaway systemd machine)" >&2; exit 1; }
bash install/deps.sh --dev
npm run -s build
node dist/test/bench/bench.js
