// The agent.yaml for the sample "shop" app, as DESIGN.md documents it, with test overrides.
import { stringify } from "yaml";

export type ConfigValue = string | number | boolean | null | ConfigValue[] | ConfigObject;
export interface ConfigObject {
  [key: string]: ConfigValue;
}

export interface ShopConfigOverrides {
  // Deep-merged into apps.shop: objects merge, arrays and scalars replace, null deletes the key.
  app?: ConfigObject;
  // Deep-merged into the top level (e.g. { http: { listen: "127.0.0.1:9107" } }).
  root?: ConfigObject;
}

export const SHOP_DIR = "/srv/shop";
export const SHOP_REMOTE = "/srv/git/shop.git";
export const SHOP_DB = `${SHOP_DIR}/shared/shop.db`;
export const SHOP_HEALTH_URL = "http://127.0.0.1:8000/health";
export const AGENT_CONFIG_PATH = "/etc/deploy-agent/agent.yaml";

// The shop app's entry of agent.yaml, every key DESIGN.md shows (socket and poll left out).
export function shopAppConfig(): ConfigObject {
  return {
    dir: SHOP_DIR,
    service: "shop.service",
    user: "www-data",
    group: "www-data",
    repo: { url: SHOP_REMOTE, branch: "main", fetch_timeout: "60s" },
    linked: [".env"],
    hooks: {
      // Flask comes from Debian, so there is nothing to install; the hook still runs.
      install: "true",
      // Hooks get no unit environment: the DB path must be on the command line.
      migrate: `DB_PATH=${SHOP_DB} /usr/bin/python3 migrate.py`,
    },
    database: { path: SHOP_DB, mode: "664", tables: ["orders"], backups: { keep: 3 } },
    processes: { master: 1, workers: 3 },
    health: { url: SHOP_HEALTH_URL, version_field: "version", requests: 20 },
    releases: { keep: 5 },
    permissions: [{ path: `${SHOP_DIR}/shared/.env`, mode: "600" }],
    schedule: "*/15 * * * *",
    on_critical: "none",
  };
}

// The whole configuration file as an object; each set of overrides is merged in turn, so a
// variant of the app (e.g. blue-green) is one set and a test's own changes another on top.
export function shopConfig(...overrides: ShopConfigOverrides[]): ConfigObject {
  let config: ConfigObject = { apps: { shop: shopAppConfig() } };
  for (const layer of overrides) {
    config = merge(config, { apps: { shop: layer.app ?? {} } });
    config = merge(config, layer.root ?? {});
  }
  return config;
}

// The configuration file as YAML text, ready for machine.writeFile(AGENT_CONFIG_PATH, ...).
export function shopConfigYaml(...overrides: ShopConfigOverrides[]): string {
  return stringify(shopConfig(...overrides));
}

// Whether a value is a plain mapping (not an array or null).
function isObject(value: ConfigValue | undefined): value is ConfigObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// Deep merge of patch into base, returning a new object (see ShopConfigOverrides for the rules).
function merge(base: ConfigObject, patch: ConfigObject): ConfigObject {
  const out: ConfigObject = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    if (value === null) delete out[key];
    else if (isObject(value) && isObject(current)) out[key] = merge(current, value);
    else out[key] = value;
  }
  return out;
}
