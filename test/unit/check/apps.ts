// A blue-green app and a restart app as `agent.yaml` loads them, for the checks' tests.
import { parseConfigText } from "../../../src/config/parse.js";
import type { AppConfig } from "../../../src/config/schema.js";

export function blueGreenApp(upstreamFile = "/etc/nginx/deploy-agent/shop.upstream"): AppConfig {
  return loadApp(`
apps:
  shop:
    dir: /srv/shop
    strategy: blue-green
    service: shop@.service
    repo: { url: /srv/git/shop.git }
    blue_green:
      ports: { blue: 8001, green: 8002 }
      upstream_file: ${upstreamFile}
      public_url: http://127.0.0.1/health
    health: { url: "http://127.0.0.1:{port}/health", version_field: version, requests: 20 }
`);
}

export function restartApp(): AppConfig {
  return loadApp(`
apps:
  shop:
    dir: /srv/shop
    service: shop.service
    repo: { url: /srv/git/shop.git }
    health: { url: "http://127.0.0.1:8000/health" }
`);
}

function loadApp(text: string): AppConfig {
  const config = parseConfigText("agent.yaml", text);
  return { ...(config.apps.shop as AppConfig), name: "shop" };
}
