#!/usr/bin/env bash
# Install deploy-agent on a Debian/Ubuntu host from this checkout. Idempotent: run it again to
# upgrade; it never overwrites /etc/deploy-agent/agent.yaml or the token.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "install: run as root" >&2; exit 1; }

PREFIX=${PREFIX:-/opt/deploy-agent}
ETC=/etc/deploy-agent
STATE=/var/lib/deploy-agent
UNIT_DIR=/etc/systemd/system

bash install/deps.sh
npm run -s build

# The program: the bundled agent (dist/agent) plus production dependencies, built natively for this host's Node.
echo "install: $PREFIX"
staging="$PREFIX.new"
rm -rf "$staging"
mkdir -p "$staging"
cp -a dist node_modules package.json package-lock.json LICENSE "$staging/"
# The checkout's modules were built for this host by deps.sh; drop the dev-only ones rather than
# rebuilding the native addons from source a second time. --offline: everything needed is on disk,
# and without it npm asks the registry about optional packages of other platforms and, on a host
# without network, hangs.
(cd "$staging" && npm prune --omit=dev --offline --no-audit --no-fund --loglevel=error)
# Swap in the new tree whole, so a failed upgrade leaves the old one working.
if [[ -d $PREFIX ]]; then rm -rf "$PREFIX.old" && mv "$PREFIX" "$PREFIX.old"; fi
mv "$staging" "$PREFIX"
rm -rf "$PREFIX.old"

# `agent` and `deploy-agent` on PATH, pinned to the Node that built the native modules.
node_bin=$(command -v node)
for name in agent deploy-agent; do
  cat >"/usr/local/bin/$name.tmp" <<WRAPPER
#!/bin/sh
exec $node_bin $PREFIX/dist/agent/agent.js "\$@"
WRAPPER
  chmod 0755 "/usr/local/bin/$name.tmp"
  mv "/usr/local/bin/$name.tmp" "/usr/local/bin/$name"
done

# Config (root-only, it may hold paths of secrets), state, and the status endpoint's token.
install -d -m 0755 "$ETC"
install -d -m 0750 "$STATE"
if [[ ! -e $ETC/agent.yaml ]]; then
  install -m 0640 install/agent.example.yaml "$ETC/agent.yaml"
  echo "install: wrote example $ETC/agent.yaml (edit it, then: agent check)"
fi
if [[ ! -e $ETC/token ]]; then
  (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$ETC/token")
fi
chmod 0600 "$ETC/token"

# Units: copied, not linked, so the checkout can go away.
for unit in units/*.service units/*.timer; do
  [[ -e $unit ]] || continue
  install -m 0644 "$unit" "$UNIT_DIR/$(basename "$unit")"
done
systemctl daemon-reload 2>/dev/null || true

echo "install: done. Next: edit $ETC/agent.yaml, run 'agent check', then 'systemctl enable --now deploy-agent'."
