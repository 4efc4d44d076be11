#!/usr/bin/env bash
# The demo (`npm run demo`, as root): install what is needed, build, then run the sample app in
# a throwaway machine and show boot sync, check, a deploy, and a fault caught and fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "demo: run as root (it boots a throwaway systemd machine)" >&2; exit 1; }
bash install/deps.sh --dev
npm run -s build
node dist/test/demo/demo.js
