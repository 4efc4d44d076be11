#!/usr/bin/env bash
# Remove deploy-agent's program and units. Config, state and app backups stay unless --purge.
set -euo pipefail
[[ $(id -u) -eq 0 ]] || { echo "uninstall: run as root" >&2; exit 1; }
PREFIX=${PREFIX:-/opt/deploy-agent}

for unit in deploy-agent.service deploy-agent-sync.service; do
  systemctl disable --now "$unit" 2>/dev/null || true
  rm -f "/etc/systemd/system/$unit"
done
systemctl daemon-reload 2>/dev/null || true
rm -f /usr/local/bin/agent /usr/local/bin/deploy-agent
rm -rf "$PREFIX"
# Code caches and remembered configs made by the agent itself (src/launcher/code-cache.ts,
# src/config/remembered.ts): useless without the program.
rm -rf /var/cache/deploy-agent

if [[ "${1:-}" == "--purge" ]]; then
  # App directories (releases, shared/, backups/) belong to the apps, never to us: kept even now.
  rm -rf /etc/deploy-agent /var/lib/deploy-agent /run/deploy-agent
  echo "uninstall: removed program, units, config and state"
else
  echo "uninstall: removed program and units; kept /etc/deploy-agent and /var/lib/deploy-agent (--purge removes them)"
fi
