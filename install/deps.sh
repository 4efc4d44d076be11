#!/usr/bin/env bash
# Install what building (and, with --dev, testing) deploy-agent needs: Debian packages and the
# project's npm packages. Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and run needs: git, sqlite3 (the database check runs its shell as the app user),
# util-linux (flock(1) takes the app locks), libsystemd-dev for sd-notify's native addon, a C++
# toolchain and python3 for node-gyp (better-sqlite3 builds from source: no prebuilt downloads).
packages=(git curl sqlite3 util-linux libsystemd-dev python3 make g++)
# Test and demo needs: the real app server and framework the sample app runs on.
if [[ "${1:-}" == "--dev" ]]; then packages+=(gunicorn python3-flask iproute2 util-linux); fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps: need root to apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "deps: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ((node_major < 20)); then
  echo "deps: Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# Install exactly what the lock file pins, only when it changed since the last install, so
# repeated runs are fast. `npm install` rather than `npm ci`: the lock cannot list biome's
# macOS/Windows/musl binaries when the registry mirror has only the Linux ones, and `npm ci`
# refuses such a lock as "out of sync"; `npm install` takes the same locked versions.
stamp=node_modules/.deploy-agent-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  echo "deps: npm install (from package-lock.json)"
  npm install --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
