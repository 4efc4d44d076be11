#!/usr/bin/env bash
# The hand-made health script deploy-agent replaces, doing the same checks as `agent check`
# with the usual tools (systemctl, pgrep, stat, sqlite3, curl, df). The benchmark times it
# beside the agent; it is deliberately as lean as such scripts are in the wild.
set -u
APP_DIR=${APP_DIR:-/srv/shop}
DB=${DB:-$APP_DIR/shared/shop.db}
URL=${URL:-http://127.0.0.1:8000/health}
status=0

systemctl is-active --quiet shop.service || status=2
# Count gunicorn processes (the script's classic: pgrep | wc -l), expecting 1 master + 3 workers.
[[ $(pgrep -f gunicorn | wc -l) -eq 4 ]] || status=2
[[ $(stat -c '%U:%G %a' "$DB") == "www-data:www-data 664" ]] || status=2
[[ $(stat -c '%U:%G %a' "$APP_DIR/shared/.env") == "www-data:www-data 600" ]] || status=2
[[ $(sqlite3 -readonly "$DB" 'PRAGMA quick_check') == ok ]] || status=2
[[ -n $(sqlite3 -readonly "$DB" "SELECT name FROM sqlite_master WHERE type='table' AND name='orders'") ]] || status=2
rev=$(cat "$APP_DIR/current/REVISION")
for _ in $(seq 20); do
  curl -fsS --max-time 5 "$URL" | grep -q "\"$rev\"" || status=2
done
newest=$(ls -1t "$APP_DIR"/backups/*.bak 2>/dev/null | head -1)
[[ -n $newest && $(sqlite3 -readonly "$newest" 'PRAGMA quick_check') == ok ]] || status=1
used=$(df --output=pcent "$APP_DIR" | tail -1 | tr -dc '0-9')
((used < 95)) || status=2
readlink -e "$APP_DIR/current" >/dev/null || status=2
exit $status
