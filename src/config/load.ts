// Load agent.yaml: parse YAML, validate against the schema (or take the validated config a
// previous run remembered for this very text), then check it against the host.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ConfigError, type ConfigProblem, UsageError } from "../errors.js";
import { isInside } from "../fs/path-inside.js";
import { type NotifyTarget, resolveTargets } from "../notify/targets.js";
import { lookupGroupId, lookupUser } from "../system/accounts.js";
import { blueGreenHostProblems } from "./blue-green-host.js";
import { resolveConfigPath } from "./paths.js";
import { recallConfig, rememberConfig } from "./remembered.js";
import type { AppConfig, Config } from "./schema.js";

export interface LoadedConfig {
  file: string;
  config: Config;
  apps: AppConfig[];
  // Notification targets with their URLs read (url_file): see src/notify/.
  notify: NotifyTarget[];
}

// Read and validate the config; throws ConfigError listing every problem, touching nothing.
export async function loadConfig(flag?: string): Promise<LoadedConfig> {
  const file = resolveConfigPath(flag);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "file not found" : `cannot read (${code ?? String(error)})`;
    throw new ConfigError(file, [{ path: "", message: why }]);
  }
  const config = recallConfig(file, text) ?? (await validate(file, text));
  // The host is asked every time: accounts, other apps and files change without the text.
  const problems = await checkAgainstHost(config);
  const { targets, problems: notifyProblems } = await resolveTargets(config);
  problems.push(...notifyProblems);
  if (problems.length > 0) throw new ConfigError(file, problems);
  const apps = Object.entries(config.apps).map(([name, app]) => ({ ...app, name }));
  return { file, config, apps, notify: targets };
}

// Parse and validate, and remember the result for the next run with the same text. The parser is
// imported here, on a miss only: building the schema and loading YAML and zod are most of what
// validation costs, and a remembered config needs none of them.
async function validate(file: string, text: string): Promise<Config> {
  const { parseConfigText } = await import("./parse.js");
  const config = parseConfigText(file, text);
  rememberConfig(file, text, config);
  return config;
}

// Rules the schema cannot express: accounts exist here, paths stay inside their app, the proxy's
// upstream file stays in the proxy's configuration.
async function checkAgainstHost(config: Config): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  const dirs = new Map<string, string>();
  for (const [name, app] of Object.entries(config.apps)) {
    const at = `apps.${name}`;
    if (!(await lookupUser(app.user))) {
      problems.push({ path: `${at}.user`, message: `no such user "${app.user}" on this host` });
    }
    if ((await lookupGroupId(app.group)) === undefined) {
      problems.push({ path: `${at}.group`, message: `no such group "${app.group}" on this host` });
    }
    for (const [i, check] of app.checks.entries()) {
      if (check.user !== undefined && !(await lookupUser(check.user))) {
        problems.push({
          path: `${at}.checks.${i}.user`,
          message: `no such user "${check.user}" on this host`,
        });
      }
    }
    const dir = path.resolve(app.dir);
    const other = dirs.get(dir);
    if (other) problems.push({ path: `${at}.dir`, message: `same directory as app "${other}"` });
    dirs.set(dir, name);
    if (dir === "/") problems.push({ path: `${at}.dir`, message: "must not be /" });
    if (app.database && isInside(path.join(app.dir, "releases"), app.database.path)) {
      problems.push({
        path: `${at}.database.path`,
        message: "must not live inside releases/: it would be lost with the release",
      });
    }
    // The agent's own directories must stay root's: a DB beside them, or a permissions entry on
    // them, would have `--fix` hand one to the app user (repo/config is how root runs code).
    const own = ["repo", "backups", ".staging", ".revisions", "colors"].map((d) =>
      path.join(app.dir, d),
    );
    if (app.database) {
      const dbDir = path.dirname(app.database.path);
      const apps = Object.values(config.apps).map((a) => a.dir);
      // Nor above any app's directory: whoever owns a parent can rename the app directory away.
      if (
        dbDir === app.dir ||
        own.some((d) => d === dbDir || isInside(d, dbDir)) ||
        apps.some((d) => d === dbDir || isInside(dbDir, d))
      ) {
        problems.push({
          path: `${at}.database.path`,
          message: `must not be in ${dbDir}: its directory is given to the app user, and that one is the agent's (use ${path.join(app.dir, "shared")}/)`,
        });
      }
    }
    app.permissions.forEach((entry, i) => {
      if (!isInside(app.dir, entry.path)) {
        problems.push({
          path: `${at}.permissions.${i}.path`,
          message: `must be inside the app directory ${app.dir}`,
        });
      } else if (
        [...own, path.join(app.dir, "releases")].includes(entry.path) ||
        own.some((d) => isInside(d, entry.path))
      ) {
        problems.push({
          path: `${at}.permissions.${i}.path`,
          message:
            "must not be one of the agent's own directories (repo/, releases/, backups/, .staging/, .revisions/, colors/) or inside one of them but releases/",
        });
      }
    });
  }
  problems.push(...(await blueGreenHostProblems(config)));
  return problems;
}

// Pick the app a command acts on: the named one, or the only one.
export function selectApp(loaded: LoadedConfig, name?: string): AppConfig {
  if (name) {
    const app = loaded.apps.find((a) => a.name === name);
    if (!app) {
      const known = loaded.apps.map((a) => a.name).join(", ");
      throw new UsageError(`no app "${name}" in ${loaded.file} (configured: ${known})`);
    }
    return app;
  }
  if (loaded.apps.length === 1) return loaded.apps[0] as AppConfig;
  throw new UsageError(
    `${loaded.file} configures ${loaded.apps.length} apps (${loaded.apps.map((a) => a.name).join(", ")}): name one`,
  );
}
