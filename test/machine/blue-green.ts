// The shop app set up for `strategy: blue-green` (DESIGN.md): the operator's part (a template
// unit shop@.service, an nginx site whose upstream includes the agent's file, agent.yaml), and
// the layout the agent starts from. Colors, their env files and the upstream file are the
// agent's to write; startBlueGreenByHand does it for the harness's own self-test.
import type { Machine } from "./machine.js";
import { SAMPLE_APP_GUEST, waitForHealth } from "./sample-app.js";
import {
  AGENT_CONFIG_PATH,
  SHOP_DB,
  SHOP_DIR,
  type ShopConfigOverrides,
  shopConfigYaml,
} from "./shop-config.js";
import { LAYOUT_FUNCTIONS } from "./shop-layout.js";

export type Color = "blue" | "green";

export const BLUE_GREEN_PORTS: Record<Color, number> = { blue: 8001, green: 8002 };
export const SHOP_TEMPLATE_UNIT_PATH = "/etc/systemd/system/shop@.service";
export const COLORS_DIR = `${SHOP_DIR}/colors`;
export const UPSTREAM_FILE = "/etc/nginx/deploy-agent/shop.upstream";
export const NGINX_SITE_PATH = "/etc/nginx/sites-available/shop";
// What clients use: nginx on port 80 of the machine's own loopback.
export const PUBLIC_BASE_URL = "http://127.0.0.1";
export const PUBLIC_HEALTH_URL = `${PUBLIC_BASE_URL}/health`;

// The health URL of one color, on its own port.
export function colorHealthUrl(color: Color): string {
  return `http://127.0.0.1:${BLUE_GREEN_PORTS[color]}/health`;
}

// The unit shop.service is, once per color: the color's symlink is its working directory (so
// the release it runs), its env file its PORT, which gunicorn.conf.py binds.
export const SHOP_TEMPLATE_UNIT = `[Unit]
Description=Shop sample app, color %i (gunicorn + Flask + SQLite)
After=network.target

[Service]
User=www-data
Group=www-data
WorkingDirectory=${COLORS_DIR}/%i
EnvironmentFile=${COLORS_DIR}/%i.env
Environment=DB_PATH=${SHOP_DB}
Environment=PYTHONUNBUFFERED=1
# Threads: a long stream and normal requests are served by the same worker (gunicorn.conf.py).
Environment=GUNICORN_WORKER_CLASS=gthread
ExecStart=/usr/bin/gunicorn -c gunicorn.conf.py app:app
# SIGTERM to the master only, which stops its workers gracefully; stragglers get SIGKILL.
KillMode=mixed
Restart=on-failure
RestartSec=1
# The agent drains a color (waits for its connections to end) before it stops it; the stop
# itself only has to cover gunicorn's graceful shutdown (graceful_timeout, 30 s by default).
TimeoutStopSec=45

[Install]
WantedBy=multi-user.target
`;

// The operator's site: every request to the colors the agent lists in the upstream file.
export const NGINX_SITE = `# Shop sample app behind nginx; deploy-agent writes the upstream's servers (blue-green).
upstream shop {
    include ${UPSTREAM_FILE};
    # No keepalive: each proxied request has a connection of its own to the app, so once the
    # traffic is switched, the old color's connections are exactly its requests in flight,
    # which is what the agent's drain counts.
}

server {
    listen 127.0.0.1:80 default_server;
    server_name _;

    location / {
        proxy_pass http://shop;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        # HTTP/1.1 rather than nginx's default 1.0 with "Connection: close": the app can then
        # answer a stream in chunks, and nginx passes each chunk on as it arrives.
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        # And every read at once, whatever the framing: Server-Sent Events reach the client as
        # the app writes them, not when a buffer fills or the response ends.
        proxy_buffering off;
        # A stream may be quiet for long between events; nginx's default (60 s) would cut it.
        proxy_read_timeout 1h;
    }
}
`;

// agent.yaml for the blue-green shop: DESIGN.md's example, merged over the shop's config.
export const BLUE_GREEN_CONFIG: ShopConfigOverrides = {
  app: {
    strategy: "blue-green",
    service: "shop@.service",
    blue_green: {
      ports: { ...BLUE_GREEN_PORTS },
      upstream_file: UPSTREAM_FILE,
      proxy: "nginx.service",
      drain_timeout: "120s",
      public_url: PUBLIC_HEALTH_URL,
    },
    health: { url: "http://127.0.0.1:{port}/health" },
  },
};

export interface BlueGreenOptions {
  // Guest path of the app sources to commit (default: the sample-app fixture).
  source?: string;
  // Overrides merged over BLUE_GREEN_CONFIG; false writes no agent.yaml at all.
  config?: ShopConfigOverrides | false;
}

// Everything on disk, as root; $1 = app sources. Prints the sha of the remote's tip. No release
// yet, so the DB is migrated from a throwaway export of that commit.
const PROVISION_SCRIPT = `${LAYOUT_FUNCTIONS}
make_remote "$1"
make_app_dir
src=$(mktemp -d)
git --git-dir="$app/repo" archive "$sha" | tar -x -C "$src"
chown -R www-data:www-data "$src"
migrate_db "$src"
rm -rf "$src"

# The operator's nginx: the shop site instead of Debian's default one, enabled for boot but not
# started (it cannot be yet: the upstream file it includes is the agent's to write).
rm -f /etc/nginx/sites-enabled/default
ln -sfn ${NGINX_SITE_PATH} /etc/nginx/sites-enabled/shop
systemctl daemon-reload
systemctl enable --quiet nginx.service
echo "$sha"
`;

// Lay out the blue-green shop on a fresh host: remote, repo/, shared/ with a WAL database,
// shop@.service, the nginx site and agent.yaml. Nothing is started and nothing deployed: no
// release, no current, no colors/ and no upstream file, which the agent's first `agent sync`
// makes. Returns the full sha of the remote's tip (main).
export async function provisionBlueGreen(
  machine: Machine,
  opts: BlueGreenOptions = {},
): Promise<string> {
  await machine.writeFile(SHOP_TEMPLATE_UNIT_PATH, SHOP_TEMPLATE_UNIT, 0o644);
  await machine.writeFile(NGINX_SITE_PATH, NGINX_SITE, 0o644);
  if (opts.config !== false) {
    await machine.writeFile(
      AGENT_CONFIG_PATH,
      shopConfigYaml(BLUE_GREEN_CONFIG, opts.config ?? {}),
      0o644,
    );
  }
  const result = await machine.exec(
    [
      "bash",
      "-c",
      `set -euo pipefail\n${PROVISION_SCRIPT}`,
      "provision-blue-green",
      opts.source ?? SAMPLE_APP_GUEST,
    ],
    { reject: true, timeoutMs: 60_000 },
  );
  const sha = result.stdout.trim().split("\n").at(-1) ?? "";
  if (!/^[0-9a-f]{40}$/.test(sha)) throw new Error(`provision printed no sha: ${result.stdout}`);
  return sha;
}

// A first blue-green deploy of the remote's tip, by hand, as the agent will do it: build the
// release, point the color at it, give it its port, start it and wait for its health, route
// nginx to it (upstream file, nginx -t, start or reload), then publish current. The DB needs no
// migration (provisioning ran them). Only for the harness's self-test: the strategy's tests let
// the agent do this. Returns the release directory.
export async function startBlueGreenByHand(machine: Machine, color: Color): Promise<string> {
  const port = BLUE_GREEN_PORTS[color];
  const built = await machine.sh(
    `${LAYOUT_FUNCTIONS}
     sha=$(git --git-dir="$app/repo" rev-parse refs/heads/main)
     build_release
     install -d -m 755 "$app/colors"
     # Relative and swapped by rename, like current.
     ln -s "../releases/$name" "$app/colors/${color}.new"
     mv -T "$app/colors/${color}.new" "$app/colors/${color}"
     printf 'PORT=%s\\n' ${port} > "$app/colors/${color}.env"
     systemctl start shop@${color}.service
     echo "$sha $name"`,
    { reject: true },
  );
  const [sha = "", name = ""] = built.stdout.trim().split("\n").at(-1)?.split(" ") ?? [];
  await waitForHealth(machine, sha, 30_000, colorHealthUrl(color));
  await machine.sh(
    `${LAYOUT_FUNCTIONS}
     install -d -m 755 "$(dirname ${UPSTREAM_FILE})"
     printf 'server 127.0.0.1:%s;\\n' ${port} > ${UPSTREAM_FILE}.new
     mv -T ${UPSTREAM_FILE}.new ${UPSTREAM_FILE}
     nginx -t -q
     systemctl reload-or-restart nginx.service
     name=${name}
     publish_current`,
    { reject: true },
  );
  await waitForHealth(machine, sha, 30_000, PUBLIC_HEALTH_URL);
  return `${SHOP_DIR}/releases/${name}`;
}
