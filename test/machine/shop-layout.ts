// The shell steps that lay the shop app out on disk in the DESIGN.md layout, as root. Shared by
// provisionShop (restart strategy) and provisionBlueGreen, which differ only in what they run.
import { SHOP_DB, SHOP_DIR, SHOP_REMOTE } from "./shop-config.js";

// Commits made by tests get a fixed identity; the machine has no git config of its own.
export const GIT = "git -c user.name=deploy-agent-test -c user.email=test@deploy-agent.invalid";

// Bash functions; a script sources this text, then calls them in the order it needs.
export const LAYOUT_FUNCTIONS = `
app=${SHOP_DIR} remote=${SHOP_REMOTE}

# The remote: one commit of the app sources in $1 on main.
make_remote() {
  local work
  work=$(mktemp -d)
  cp -a "$1"/. "$work"/
  rm -rf "$work"/__pycache__ "$work"/instance "$work"/.env "$work"/REVISION "$work"/.git
  mkdir -p "$(dirname "$remote")"
  git init -q --bare -b main "$remote"
  (cd "$work" && ${GIT} init -q -b main && ${GIT} add -A && ${GIT} commit -q -m "Sample shop app" &&
    ${GIT} push -q "$remote" main)
  rm -rf "$work"
}

# The app dir: repo/ (sets $sha to the tip of main, or to $rev when set), empty releases/ and backups/, shared/.env.
make_app_dir() {
  install -d -m 755 "$app" "$app/releases" "$app/backups"
  git clone -q --mirror "$remote" "$app/repo"
  sha=$(git --git-dir="$app/repo" rev-parse "\${rev:-refs/heads/main}^{commit}")
  install -d -o www-data -g www-data -m 775 "$app/shared"
  install -o www-data -g www-data -m 600 /dev/null "$app/shared/.env"
  printf 'SECRET_KEY=deploy-agent-test\\n' > "$app/shared/.env"
}

# One release of $sha with its REVISION and linked .env (sets $name and $rel). Hooks run as the
# app user inside the release, so it owns the release.
build_release() {
  name=$(date -u +%Y%m%dT%H%M%SZ)-\${sha:0:12}
  rel=$app/releases/$name
  mkdir "$rel"
  git --git-dir="$app/repo" archive "$sha" | tar -x -C "$rel"
  printf '%s\\n' "$sha" > "$rel/REVISION"
  ln -s "$app/shared/.env" "$rel/.env"
  chown -R www-data:www-data "$rel"
}

# The shared DB: the migrations of the sources in $1 (owned by the app user), in WAL mode.
migrate_db() {
  (cd "$1" && runuser -u www-data -- env DB_PATH=${SHOP_DB} /usr/bin/python3 migrate.py)
  runuser -u www-data -- /usr/bin/python3 -c '
import sqlite3, sys
mode = sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode=WAL").fetchone()[0]
sys.exit(0 if mode == "wal" else "journal_mode is " + mode)' ${SHOP_DB}
  chown www-data:www-data ${SHOP_DB}
  chmod 664 ${SHOP_DB}
}

# current is relative and swapped by rename, as the agent does it.
publish_current() {
  ln -s "releases/$name" "$app/current.new"
  mv -T "$app/current.new" "$app/current"
}
`;
