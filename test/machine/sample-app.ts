// Provisioning the sample "shop" app inside a machine, exactly in the DESIGN.md layout.
import type { Machine } from "./machine.js";
import { GUEST_REPO } from "./paths.js";
import {
  AGENT_CONFIG_PATH,
  SHOP_DB,
  SHOP_DIR,
  SHOP_HEALTH_URL,
  SHOP_REMOTE,
  type ShopConfigOverrides,
  shopConfigYaml,
} from "./shop-config.js";
import { GIT, LAYOUT_FUNCTIONS } from "./shop-layout.js";

export {
  AGENT_CONFIG_PATH,
  type ConfigObject,
  type ConfigValue,
  SHOP_DB,
  SHOP_DIR,
  SHOP_HEALTH_URL,
  SHOP_REMOTE,
  type ShopConfigOverrides,
  shopAppConfig,
  shopConfig,
  shopConfigYaml,
} from "./shop-config.js";
export { startWriter, stopWriter, type Writer, type WriterReport } from "./writer.js";

// The fixture as the machine sees it, through the read-only bind of the checkout.
export const SAMPLE_APP_GUEST = `${GUEST_REPO}/test/fixtures/sample-app`;

export const SHOP_UNIT = `[Unit]
Description=Shop sample app (gunicorn + Flask + SQLite)
After=network.target

[Service]
User=www-data
Group=www-data
WorkingDirectory=${SHOP_DIR}/current
Environment=DB_PATH=${SHOP_DB}
Environment=PYTHONUNBUFFERED=1
ExecStart=/usr/bin/gunicorn -c gunicorn.conf.py app:app
# SIGTERM to the master only, which stops its workers gracefully; stragglers get SIGKILL.
KillMode=mixed
Restart=on-failure
RestartSec=1
TimeoutStopSec=20

[Install]
WantedBy=multi-user.target
`;

export interface ProvisionOptions {
  // Guest path of the app sources to commit (default: the sample-app fixture).
  source?: string;
  // Overrides for /etc/deploy-agent/agent.yaml; false writes no config at all.
  config?: ShopConfigOverrides | false;
  // Enable and start shop.service and wait for /health (default true).
  start?: boolean;
  // The remote is already there (a second host of the same app, the remote bound in from the
  // host): deploy from it instead of creating it.
  existingRemote?: boolean;
  // The commit to lay out as live (default: the tip of main).
  rev?: string;
}

export interface Provisioned {
  // Full sha of the deployed commit (the tip of main on the remote).
  sha: string;
  // The live release directory, e.g. /srv/shop/releases/20261123T101500Z-3f2a1c9b0d1e.
  releaseDir: string;
}

// Everything on disk, as root; $1 = app sources. Prints "<sha> <release dir>" last.
const PROVISION_SCRIPT = `${LAYOUT_FUNCTIONS}
rev="$3"
[ "$2" = existing ] || make_remote "$1"
make_app_dir
build_release
migrate_db "$rel"
publish_current
echo "$sha $rel"
`;

// Build the shop app in the machine: remote, repo/, one release, shared/ with a WAL database,
// shop.service running (1 master + 3 workers) and agent.yaml.
export async function provisionShop(
  machine: Machine,
  opts: ProvisionOptions = {},
): Promise<Provisioned> {
  const result = await machine.exec(
    [
      "bash",
      "-c",
      `set -euo pipefail\n${PROVISION_SCRIPT}`,
      "provision",
      opts.source ?? SAMPLE_APP_GUEST,
      opts.existingRemote ? "existing" : "new",
      opts.rev ?? "",
    ],
    { reject: true, timeoutMs: 60_000 },
  );
  const [sha, releaseDir] = result.stdout.trim().split("\n").at(-1)?.split(" ") ?? [];
  if (!sha || !releaseDir) throw new Error(`provision printed no sha: ${result.stdout}`);

  await machine.writeFile("/etc/systemd/system/shop.service", SHOP_UNIT, 0o644);
  if (opts.config !== false) {
    await machine.writeFile(AGENT_CONFIG_PATH, shopConfigYaml(opts.config ?? {}), 0o644);
  }
  if (opts.start !== false) {
    await machine.exec(["systemctl", "daemon-reload"], { reject: true });
    await machine.exec(["systemctl", "enable", "--now", "shop.service"], { reject: true });
    await waitForHealth(machine, sha);
  }
  return { sha, releaseDir };
}

export interface Health {
  status: string;
  version: string;
  pid: number;
}

// GET /health (or another health URL, e.g. one color's or the proxy's) from inside the machine;
// undefined when the app does not answer.
export async function health(machine: Machine, url = SHOP_HEALTH_URL): Promise<Health | undefined> {
  const result = await machine.exec(["curl", "-sf", "--max-time", "2", url]);
  if (result.exitCode !== 0) return undefined;
  try {
    return JSON.parse(result.stdout) as Health;
  } catch {
    return undefined;
  }
}

// Wait until /health (or url) answers (and reports version, when given); returns the answer.
export async function waitForHealth(
  machine: Machine,
  version?: string,
  timeoutMs = 30_000,
  url = SHOP_HEALTH_URL,
): Promise<Health> {
  return machine.waitFor(
    async () => {
      const answer = await health(machine, url);
      return answer && (version === undefined || answer.version === version) ? answer : undefined;
    },
    timeoutMs,
    { what: `${url}${version ? ` to report ${version}` : ""}`, intervalMs: 200 },
  );
}

export interface CommitSpec {
  message: string;
  // Path (relative to the repo root) to new content, or null to delete the file.
  files: Record<string, string | null>;
  // Remote to push to (default /srv/git/shop.git) and branch (default main).
  remote?: string;
  branch?: string;
  // Sign the commit with this ssh private key (a path inside the machine).
  signingKey?: string;
}

// Make a new commit on the remote's branch (clone, change, commit, push); returns its full sha.
export async function pushCommit(machine: Machine, spec: CommitSpec): Promise<string> {
  const remote = spec.remote ?? SHOP_REMOTE;
  const branch = spec.branch ?? "main";
  const work = (await machine.exec(["mktemp", "-d"], { reject: true })).stdout.trim();
  try {
    await machine.exec(["git", "clone", "-q", "-b", branch, remote, work], { reject: true });
    for (const [file, content] of Object.entries(spec.files)) {
      if (file.startsWith("/") || file.split("/").includes("..")) {
        throw new Error(`pushCommit: ${file} is not a path inside the repository`);
      }
      if (content === null) {
        await machine.exec(["git", "-C", work, "rm", "-q", "--", file], { reject: true });
      } else {
        await machine.writeFile(`${work}/${file}`, content);
      }
    }
    // Message and branch travel as arguments, so no quoting of test-supplied text is needed.
    const sign = spec.signingKey
      ? `-c gpg.format=ssh -c user.signingkey="$4" -c commit.gpgsign=true`
      : "";
    const script = `set -euo pipefail; cd "$1"; ${GIT} add -A; ${GIT} ${sign} commit -q --allow-empty -m "$2"
      ${GIT} push -q origin "HEAD:refs/heads/$3"; git rev-parse HEAD`;
    const result = await machine.exec(
      ["bash", "-c", script, "push-commit", work, spec.message, branch, spec.signingKey ?? ""],
      { reject: true },
    );
    return result.stdout.trim();
  } finally {
    await machine.exec(["rm", "-rf", work]);
  }
}
