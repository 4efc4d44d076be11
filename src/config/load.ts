// Load agent.yaml: parse YAML, validate against the schema, then check it against the host.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { LineCounter, parseDocument } from "yaml";
import type { ZodError } from "zod";
import { ConfigError, type ConfigProblem, UsageError } from "../errors.js";
import { isInside } from "../fs/path-inside.js";
import { type NotifyTarget, resolveTargets } from "../notify/targets.js";
import { lookupGroupId, lookupUser } from "../system/accounts.js";
import { blueGreenHostProblems } from "./blue-green-host.js";
import { resolveConfigPath } from "./paths.js";
import { type AppConfig, type Config, configSchema } from "./schema.js";

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
  const config = parseConfigText(file, text);
  const problems = await checkAgainstHost(config);
  const { targets, problems: notifyProblems } = await resolveTargets(config);
  problems.push(...notifyProblems);
  if (problems.length > 0) throw new ConfigError(file, problems);
  const apps = Object.entries(config.apps).map(([name, app]) => ({ ...app, name }));
  return { file, config, apps, notify: targets };
}

// Parse and schema-check config text; pure, so unit tests can feed it strings.
export function parseConfigText(file: string, text: string): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        path: `line ${e.linePos?.[0]?.line ?? "?"}`,
        message: `YAML syntax: ${(e.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}`,
      })),
    );
  }
  const result = configSchema.safeParse(doc.toJS() ?? {});
  if (result.success) return result.data;
  throw new ConfigError(
    file,
    zodProblems(result.error, (keys) => lineOf(doc, lineCounter, keys)),
  );
}

// Turn zod issues into "apps.shop.database.mode (line 12): expected ..." problems.
function zodProblems(
  error: ZodError,
  line: (keys: PropertyKey[]) => number | undefined,
): ConfigProblem[] {
  return error.issues.map((issue) => {
    const keys = [...issue.path];
    if (issue.code === "unrecognized_keys") {
      return {
        path: formatPath(keys, line([...keys, issue.keys[0] ?? ""])),
        message: `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`,
      };
    }
    return { path: formatPath(keys, line(keys)), message: issue.message };
  });
}

function formatPath(keys: PropertyKey[], line: number | undefined): string {
  const joined = keys.map(String).join(".");
  return line === undefined ? joined : `${joined} (line ${line})`;
}

// Line number of the YAML node at a key path, to point the operator at the spot.
function lineOf(
  doc: ReturnType<typeof parseDocument>,
  counter: LineCounter,
  keys: PropertyKey[],
): number | undefined {
  for (let n = keys.length; n > 0; n--) {
    const node = doc.getIn(keys.slice(0, n), true) as
      | { range?: [number, number, number] }
      | undefined;
    if (node?.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
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
