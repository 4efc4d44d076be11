// More "hosts" of the shop app inside one machine: each its own agent (config, state directory
// and lock directory, through DEPLOY_AGENT_CONFIG, DEPLOY_AGENT_STATE_DIR and
// DEPLOY_AGENT_RUN_DIR), its own app directory, unit and port, and its own daemon as a transient
// unit. A promotion test runs a follower beside the promoting host; the fleet bench runs 25.
import { stringify } from "yaml";
import type { Machine } from "./machine.js";
import { SHOP_REMOTE, shopAppConfig } from "./shop-config.js";

export interface ExtraHost {
  // App name, unit name (<name>.service) and daemon unit (agent-<name>.service).
  name: string;
  port: number;
  dir: string;
  healthUrl: string;
  // The environment that makes `agent` this host's agent.
  env: Record<string, string>;
  daemonUnit: string;
}

export interface ExtraHostOptions {
  name: string;
  port: number;
  branch: string;
  // The daemon's poll period ("2s"); no daemon is started when undefined.
  poll?: string;
  // Start the daemon now (default: when it polls); the fleet starts them all at one moment.
  startDaemon?: boolean;
  workers?: number;
  // Run the migrations (a host with its own DB); a follower sharing the promoter's DB has none.
  migrate?: boolean;
  promote?: string;
  remote?: string;
  // Health probe size (default 5: the fleet's hosts are small).
  requests?: number;
}

const AGENT = "/usr/local/bin/agent";

// Lay out the host (nothing deployed yet: its first sync deploys from scratch), write its config
// and unit, and start its daemon when it polls.
export async function addExtraHost(machine: Machine, opts: ExtraHostOptions): Promise<ExtraHost> {
  const { name, port } = opts;
  const dir = `/srv/hosts/${name}`;
  const db = `${dir}/shared/shop.db`;
  const env = {
    DEPLOY_AGENT_CONFIG: `/etc/deploy-agent-hosts/${name}/agent.yaml`,
    DEPLOY_AGENT_STATE_DIR: `/var/lib/deploy-agent-hosts/${name}`,
    DEPLOY_AGENT_RUN_DIR: `/run/deploy-agent-hosts/${name}`,
  };
  const base = shopAppConfig();
  const app = {
    ...base,
    dir,
    service: `${name}.service`,
    repo: { url: opts.remote ?? SHOP_REMOTE, branch: opts.branch, fetch_timeout: "10s" },
    hooks: {
      install: "true",
      ...(opts.migrate === false ? {} : { migrate: `DB_PATH=${db} /usr/bin/python3 migrate.py` }),
    },
    database: { path: db, mode: "664", tables: ["orders"], backups: { keep: 2 } },
    processes: { master: 1, workers: opts.workers ?? 3 },
    health: {
      url: `http://127.0.0.1:${port}/health`,
      version_field: "version",
      requests: opts.requests ?? 5,
    },
    permissions: [],
    ...(opts.poll ? { poll: opts.poll } : {}),
    ...(opts.promote ? { promote: { branch: opts.promote } } : {}),
  };
  const unit = `[Unit]
Description=${name}: a host of the shop app
[Service]
User=www-data
Group=www-data
WorkingDirectory=${dir}/current
Environment=DB_PATH=${db} PORT=${port} WORKERS=${opts.workers ?? 3} PYTHONUNBUFFERED=1
ExecStart=/usr/bin/gunicorn -c gunicorn.conf.py app:app
KillMode=mixed
TimeoutStopSec=20
`;
  await machine.writeFile(env.DEPLOY_AGENT_CONFIG, stringify({ apps: { [name]: app } }), 0o644);
  await machine.writeFile(`/etc/systemd/system/${name}.service`, unit, 0o644);
  await machine.sh(
    `install -d -m 755 ${dir} /srv/hosts
     install -d -o www-data -g www-data -m 775 ${dir}/shared
     printf 'SECRET_KEY=deploy-agent-test\\n' > ${dir}/shared/.env
     chown www-data:www-data ${dir}/shared/.env; chmod 600 ${dir}/shared/.env
     systemctl daemon-reload`,
    { reject: true },
  );
  const host: ExtraHost = {
    name,
    port,
    dir,
    healthUrl: `http://127.0.0.1:${port}/health`,
    env,
    daemonUnit: `agent-${name}.service`,
  };
  if (opts.startDaemon ?? opts.poll !== undefined) await startHostDaemon(machine, host);
  return host;
}

// The host's daemon as a transient unit, its environment naming its own config and state.
export async function startHostDaemon(machine: Machine, host: ExtraHost): Promise<void> {
  const setenv = Object.entries(host.env).map(([k, v]) => `--setenv=${k}=${v}`);
  await machine.exec(
    [
      "systemd-run",
      "--quiet",
      `--unit=${host.daemonUnit}`,
      "-p",
      "Type=exec",
      ...setenv,
      "--setenv=DEPLOY_AGENT_LOG_LEVEL=debug",
      AGENT,
      "daemon",
    ],
    { reject: true },
  );
}

export async function stopHostDaemon(machine: Machine, host: ExtraHost): Promise<void> {
  await machine.exec(["systemctl", "stop", host.daemonUnit]);
}

// `agent ARGS` as this host's agent.
export function hostAgent(machine: Machine, host: ExtraHost, args: string[], timeoutMs = 180_000) {
  return machine.exec([AGENT, ...args], { env: host.env, timeoutMs });
}
