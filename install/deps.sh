#!/usr/bin/env bash
# Install what building (and, with --dev, testing) deploy-agent needs: Debian packages and the
# project's npm packages. Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and run needs: git, sqlite3 (the database check runs its shell as the app user),
# util-linux (flock(1) takes the app locks), libsystemd-dev for sd-notify's native addon, a C++
# toolchain and python3 for node-gyp (better-sqlite3 builds from source: no prebuilt downloads).
packages=(git curl sqlite3 util-linux libsystemd-dev python3 make g++)
# Test and demo needs: the real app server and framework the sample app runs on, and the real
# proxy the blue-green strategy switches (Debian 12's `nginx` is the server itself; nginx-light,
# -core and -full only add module sets), Nagios's own plugins, which custom checks run
# unchanged (check_procs in the tests), a real browser for the status page's test, and the
# servers private remotes are tested against: sshd (a deploy key, pinned host keys) and git's
# http-backend behind nginx through fcgiwrap (a token over basic auth).
dev=false
if [[ "${1:-}" == "--dev" ]]; then
  dev=true
  packages+=(gunicorn python3-flask iproute2 util-linux nginx monitoring-plugins-basic chromium)
  # hooks.install_cache's test builds a real virtualenv with a real pip.
  packages+=(python3-venv python3-pip)
  packages+=(openssh-server openssh-client fcgiwrap)
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps: need root to apt-get install ${missing[*]}" >&2
    exit 1
  fi
  if $dev; then
    # Test machines boot on an overlay of this root: hold their host lock (LOCK_PATH in
    # test/machine/paths.ts) until nginx is disabled below, so that no machine runs while
    # packages change under it, and none boots between nginx's postinst enabling it and the
    # removal of that link.
    exec 9>/run/deploy-agent-test-machine.lock
    if ! flock -n 9; then
      echo "deps: waiting for the test machine running on this host to finish" >&2
      flock -w 1800 9 || { echo "deps: the test machine lock was held for 30 min" >&2; exit 1; }
    fi
  fi
  echo "deps: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  # Packages with a service (nginx) start it from their maintainer scripts unless policy-rc.d
  # says no (exit 101). Nothing may start here: tests start what they need in their machines.
  # An admin's own policy is kept aside meanwhile.
  policy=/usr/sbin/policy-rc.d
  saved=$policy.deploy-agent-saved
  restore_policy() { if [[ -e $saved ]]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi; }
  if [[ -e $policy ]]; then mv "$policy" "$saved"; fi
  trap restore_policy EXIT
  printf '#!/bin/sh\n# install/deps.sh of deploy-agent: nothing starts during its apt-get\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  restore_policy
  trap - EXIT
fi
if $dev; then
  # nginx's postinst enables it (deb-systemd-helper): every machine booted on this root would
  # start it with the default site. Tests start nginx themselves, with their own site. Removed on
  # every run, so a link that reappears (by hand, by a reinstall) is undone too.
  rm -f /etc/systemd/system/*.wants/nginx.service
  # The same for sshd and fcgiwrap: the machines share the host's network, and each test starts
  # its own on its own port.
  rm -f /etc/systemd/system/*.wants/ssh.service /etc/systemd/system/*.wants/ssh.socket \
    /etc/systemd/system/sshd.service /etc/systemd/system/*.wants/fcgiwrap.socket \
    /etc/systemd/system/*.wants/fcgiwrap.service
  exec 9>&-
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
