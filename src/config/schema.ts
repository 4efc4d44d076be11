// The schema of /etc/deploy-agent/agent.yaml: every key DESIGN.md documents, unknown keys refused.
import { validate as isValidCron } from "node-cron";
import * as z from "zod";
import { isBuiltInCheck } from "../check/check-names.js";
import { branchNameProblem } from "../git/ref-name.js";
import { healthUrlFor, PORT_PLACEHOLDER, strategyProblems } from "./blue-green.js";
import { parseDuration } from "./duration.js";

// A config is validated once or twice per process: compiling zod's validators with new Function
// (its default) costs more than it saves, ~10 ms of a short `agent check`.
z.config({ jitless: true });

// A duration: "60s", "5m", "1h" (a bare number means seconds), normalised to milliseconds.
// `zero` names what 0 means where a zero duration is allowed; elsewhere it is refused.
const durationValue = (zero?: string) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    const ms =
      typeof value === "number" ? value * 1000 : value.trim() === "0" ? 0 : parseDuration(value);
    if (ms === undefined || !Number.isFinite(ms) || ms < 0 || (ms === 0 && !zero)) {
      ctx.addIssue({
        code: "custom",
        message: `expected a duration like "60s", "5m" or "1h"${zero ? `, or 0 ${zero}` : ""}, got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return ms;
  });

const duration = durationValue();

// An octal file mode written as "664" or "0664". An unquoted 664 is read as the same digits,
// because that is what an operator who types it means.
const fileMode = z.union([z.string(), z.number().int()]).transform((value, ctx) => {
  const text = String(value);
  if (!/^0?[0-7]{3}$/.test(text)) {
    ctx.addIssue({
      code: "custom",
      message: `expected an octal file mode like "664", got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return Number.parseInt(text, 8);
});

const absolutePath = z.string().refine((p) => p.startsWith("/") && !p.split("/").includes(".."), {
  message: "expected an absolute path without '..'",
});

// A path inside a release or shared/, so it can never point outside the app directory.
// An absolute path of plain characters: it reaches a shell (GIT_SSH_COMMAND, the credential
// helper) and ssh, which expands %h and ${VAR} and splits at spaces in its own options.
const shellSafePath = absolutePath.refine((p) => /^\/[A-Za-z0-9._+@/-]+$/.test(p), {
  message: "expected a path of letters, digits and . _ + @ - / only (it reaches ssh and a shell)",
});

const relativePath = z
  .string()
  .refine((p) => p !== "" && !p.startsWith("/") && !p.split("/").includes(".."), {
    message: "expected a relative path inside the app without '..'",
  });

// A unit name as systemctl takes it. The first character is a letter or digit, so the name can
// never be read as an option ("-H.service" is `-H .service`: run on another host). Templates
// ("shop@.service") and instances ("shop@blue.service") are names too; systemd's limit is 255.
const unitName = (suffix: string) =>
  z
    .string()
    .max(255, "expected a systemd unit name of at most 255 characters")
    .regex(new RegExp(`^[A-Za-z0-9][A-Za-z0-9:_.\\\\@-]*\\${suffix}$`), {
      message: `expected a systemd unit name ending in ${suffix}, starting with a letter or digit`,
    });

// A POSIX-ish user or group name; existence on the host is checked after parsing.
const accountName = z.string().regex(/^[a-z_][a-z0-9_-]*\$?$/i, {
  message: "expected a user or group name",
});

const httpUrl = z.url({ protocol: /^https?$/, message: "expected an http:// or https:// URL" });

// The health URL: an http(s) URL, where `{port}` may stand for the whole port (filled in per
// color by strategy blue-green; the strategy rules say when it must or must not be there).
const healthUrl = z.string().superRefine((url, ctx) => {
  // Filled in with two different ports, the URL must parse both times with exactly that port:
  // "{port}" anywhere else (the path, "{port}0") is not the port.
  const samples = [7, 8];
  const filled = samples.map((port) => healthUrlFor(url, port));
  if (!filled.every((u) => httpUrl.safeParse(u).success)) {
    ctx.addIssue({ code: "custom", message: "expected an http:// or https:// URL" });
  } else if (
    url.includes(PORT_PLACEHOLDER) &&
    !filled.every((u, i) => new URL(u).port === String(samples[i]))
  ) {
    ctx.addIssue({
      code: "custom",
      message: `${PORT_PLACEHOLDER} must stand for the whole port, as in http://127.0.0.1:${PORT_PLACEHOLDER}/health`,
    });
  }
});

const PORT = "expected a TCP port from 1 to 65535";
const port = z.number({ error: PORT }).int(PORT).min(1, PORT).max(65535, PORT);

const cron = z.string().refine((expr) => isValidCron(expr), {
  message: 'expected a cron expression like "*/15 * * * *" (5 fields, or 6 with seconds first)',
});

const positiveInt = z.number().int().positive();

// A git branch name by git-check-ref-format's rules: it reaches git's argv and refspecs.
const branchName = z.string().superRefine((name, ctx) => {
  const problem = branchNameProblem(name);
  if (problem) {
    ctx.addIssue({
      code: "custom",
      message: `expected a git branch name: ${JSON.stringify(name)} ${problem}`,
    });
  }
});

const repoFields = z.strictObject({
  // git would take a URL starting with "-" as an option: "--upload-pack=..." runs a command.
  url: z
    .string()
    .min(1, "expected the git remote URL or path")
    .refine((url) => !url.startsWith("-"), {
      message: 'expected a git remote URL or path, not one starting with "-" (an option to git)',
    }),
  branch: branchName.default("main"),
  fetch_timeout: duration.default(60_000),
  // A branch head that does not descend from the live revision (a force push) is refused while
  // url and branch stay as they were at the last deploy, unless this is true.
  allow_rewrites: z.boolean().default(false),
  // git's ssh allowed-signers file: only a commit with a good signature by one of its keys is
  // deployed (git verify-commit with gpg.ssh.allowedSignersFile).
  allowed_signers: absolutePath.optional(),
  // Private remotes: a deploy key (root's, 0600) with the remote's host keys pinned, or a token
  // file for HTTP(S), handed to git by a credential helper (src/git/remote-access.ts).
  ssh_key: shellSafePath.optional(),
  known_hosts: shellSafePath.optional(),
  token_file: shellSafePath.optional(),
});

// Which private-remote keys go together, and with which kind of URL.
function remoteAccessProblems(
  repo: z.infer<typeof repoFields>,
): { path: string[]; message: string }[] {
  const problems: { path: string[]; message: string }[] = [];
  const http = /^https?:\/\//i.test(repo.url);
  if (repo.ssh_key && !repo.known_hosts) {
    problems.push({
      path: ["known_hosts"],
      message:
        "required with ssh_key: the remote's host keys, pinned (an unknown host key is never accepted)",
    });
  }
  if (repo.known_hosts && !repo.ssh_key) {
    problems.push({ path: ["ssh_key"], message: "required with known_hosts: the deploy key" });
  }
  if (repo.ssh_key && http) {
    problems.push({
      path: ["ssh_key"],
      message: "an ssh key needs an ssh remote (git@host:path or ssh://), not http(s)",
    });
  }
  if (repo.token_file && !http) {
    problems.push({ path: ["token_file"], message: "a token needs an http(s):// remote" });
  }
  // A token over plain http is readable on the wire: only to this host itself.
  if (repo.token_file && /^http:\/\//i.test(repo.url) && !isLoopbackUrl(repo.url)) {
    problems.push({
      path: ["url"],
      message: "a token_file needs https:// (plain http only to 127.0.0.1, ::1 or localhost)",
    });
  }
  if (repo.token_file && /^https?:\/\/[^/@]*:[^/@]*@/i.test(repo.url)) {
    problems.push({
      path: ["url"],
      message: "a password in the URL and a token_file: keep the secret in the file only",
    });
  }
  return problems;
}

function isLoopbackUrl(url: string): boolean {
  try {
    return ["127.0.0.1", "[::1]", "localhost"].includes(new URL(url).hostname);
  } catch {
    return false;
  }
}

const repoSchema = repoFields.superRefine((repo, ctx) => {
  for (const problem of remoteAccessProblems(repo)) ctx.addIssue({ code: "custom", ...problem });
});

// DESIGN.md "Promotion across hosts": after a verified deploy, the deployed commit is pushed to
// this branch of the same remote, fast-forward only; followers track it as their repo.branch.
const promoteSchema = z.strictObject({ branch: branchName });

// Dependencies built once per content (DESIGN.md): the install hook runs in
// shared/cache/<hash of the key files>/ only when no complete environment of that hash exists,
// and each release links `path` to it.
// A path as git names it inside a commit: no empty, "." or ".." component, no trailing slash
// (the key files are looked up in the commit by exactly this name).
const cleanRelativePath = relativePath.refine(
  (p) => p.split("/").every((part) => part !== "" && part !== "." && part !== ".."),
  {
    message:
      'expected a path like "requirements.txt" or "deps/venv": no empty, "." or trailing "/" part',
  },
);

const installCacheSchema = z.strictObject({
  key: z
    .array(cleanRelativePath)
    .min(1, "expected the files whose content decides the environment"),
  path: cleanRelativePath,
});

const hooksSchema = z
  .strictObject({
    install: z.string().min(1).optional(),
    migrate: z.string().min(1).optional(),
    timeout: duration.default(600_000),
    install_cache: installCacheSchema.optional(),
  })
  .refine((hooks) => !hooks.install_cache || hooks.install, {
    message: "install_cache needs hooks.install: the command that builds the environment",
    path: ["install_cache"],
  });

const databaseSchema = z.strictObject({
  path: absolutePath,
  mode: fileMode.default(0o664),
  tables: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected a table name"))
    .default([]),
  backups: z.strictObject({ keep: positiveInt.default(3) }).prefault({}),
});

// More requests that must answer with a given status, on health.url's host and port. A path, not
// a URL: an endpoint elsewhere would be a check of something else, and of a color's port it must
// follow the color.
const endpointSchema = z.strictObject({
  path: z
    .string()
    .max(2048, "expected a path of at most 2048 characters")
    .regex(/^\/[^\s#]*$/, { message: 'expected a path starting with "/" (no spaces, no "#")' }),
  status: z
    .number({ error: "expected an HTTP status from 100 to 599" })
    .int("expected an HTTP status from 100 to 599")
    .min(100, "expected an HTTP status from 100 to 599")
    .max(599, "expected an HTTP status from 100 to 599"),
});

const healthSchema = z.strictObject({
  url: healthUrl,
  version_field: z.string().min(1).default("version"),
  // The JSON field with the answering process's PID: how the probe knows every worker answered.
  pid_field: z.string().min(1).default("pid"),
  requests: positiveInt.max(1000).default(20),
  timeout: duration.default(5_000),
  endpoints: z.array(endpointSchema).max(50, "expected at most 50 endpoints").default([]),
});

// The app's environment file: present, private, every required key set. Key names as a shell and
// python-dotenv accept them.
const envFileSchema = z.strictObject({
  path: absolutePath,
  required: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an environment variable name"))
    .default([]),
});

// A regular expression as JavaScript reads it (the journal's lines are matched by the agent).
const regex = z.string().superRefine((pattern, ctx) => {
  if (pattern === "") {
    ctx.addIssue({ code: "custom", message: "expected a regular expression, got an empty one" });
    return;
  }
  try {
    new RegExp(pattern);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      message: `expected a regular expression: ${(error as Error).message}`,
    });
  }
});

// Lines of the app unit's journal within `window` matching `pattern`: `warning` or more of them
// warn, `critical` or more are critical.
const logsSchema = z
  .strictObject({
    window: duration.default(15 * 60_000),
    pattern: regex,
    warning: positiveInt.default(1),
    critical: positiveInt.default(10),
  })
  .superRefine((logs, ctx) => {
    if (logs.critical < logs.warning) {
      ctx.addIssue({
        code: "custom",
        path: ["critical"],
        message: `expected a threshold not below warning (${logs.warning}), got ${logs.critical}`,
      });
    }
  });

// A custom check: any command with the Nagios plugin contract. The name is shown, stored and
// measured beside the built-in checks, and reaches a systemd scope name: lowercase words.
const customCheckSchema = z.strictObject({
  name: z
    .string()
    .max(64, "expected a check name of at most 64 characters")
    .regex(/^[a-z][a-z0-9_-]*$/, "expected a check name: a lowercase word (a-z, 0-9, _ and -)")
    .refine((name) => !isBuiltInCheck(name), {
      message: "repeats the name of a built-in check",
    }),
  command: z.string().min(1, "expected the command to run"),
  // Nagios's own default plugin time-out.
  timeout: duration.default(10_000),
  user: accountName.optional(),
});

const customChecks = z.array(customCheckSchema).superRefine((checks, ctx) => {
  checks.forEach((check, i) => {
    const first = checks.findIndex((c) => c.name === check.name);
    if (first !== i) {
      ctx.addIssue({
        code: "custom",
        path: [i, "name"],
        message: `repeats the name of checks.${first} ("${check.name}")`,
      });
    }
  });
});

// Strategy blue-green (DESIGN.md): where each color listens, the upstream file the agent writes
// for the proxy, the proxy's unit, how long the old color may drain, and the URL through the proxy.
// Whether the block belongs to the app's strategy is checked with the app (strategyProblems).
const blueGreenSchema = z.strictObject({
  ports: z.strictObject({ blue: port, green: port }),
  // Under /etc/nginx (checked against the host when loaded: blue-green-host.ts): only the
  // proxy's own configuration, root's, is ever written.
  upstream_file: absolutePath,
  proxy: unitName(".service").default("nginx.service"),
  // Milliseconds; 0 means no limit: the old color is stopped only when its last connection ends.
  // The default is DESIGN.md's example: long enough for a long poll, short of a stuck deploy.
  drain_timeout: durationValue("to wait for every connection to end").default(120_000),
  // Required: the switch is proven through the proxy, as clients reach the app.
  public_url: z.url({
    protocol: /^https?$/,
    error: (issue) =>
      issue.input === undefined
        ? "required: the health URL through the proxy, e.g. http://127.0.0.1/health"
        : "expected an http:// or https:// URL",
  }),
});

const permissionSchema = z.strictObject({
  path: absolutePath,
  mode: fileMode,
  owner: accountName.optional(),
  group: accountName.optional(),
});

const appFields = z.strictObject({
  dir: absolutePath,
  strategy: z.enum(["restart", "blue-green"]).default("restart"),
  service: unitName(".service"),
  socket: unitName(".socket").optional(),
  blue_green: blueGreenSchema.optional(),
  user: accountName.default("www-data"),
  group: accountName.default("www-data"),
  repo: repoSchema,
  linked: z.array(relativePath).default([]),
  hooks: hooksSchema.prefault({}),
  database: databaseSchema.optional(),
  processes: z
    .strictObject({ master: positiveInt.default(1), workers: z.number().int().min(0).default(3) })
    .prefault({}),
  health: healthSchema.optional(),
  env_file: envFileSchema.optional(),
  logs: logsSchema.optional(),
  checks: customChecks.default([]),
  verify: z.strictObject({ timeout: duration.default(60_000) }).prefault({}),
  releases: z.strictObject({ keep: z.number().int().min(2).default(5) }).prefault({}),
  permissions: z.array(permissionSchema).default([]),
  schedule: cron.default("*/15 * * * *"),
  on_critical: z.enum(["none", "restart"]).default("none"),
  poll: duration.optional(),
  promote: promoteSchema.optional(),
});

// The strategy rules run whenever the keys they read are valid, even when others are not, so
// every problem of the file is listed at once.
const STRATEGY_KEYS: PropertyKey[] = ["strategy", "service", "socket", "blue_green", "health"];

export const appSchema = appFields.superRefine(
  (app, ctx) => {
    for (const problem of strategyProblems(app)) ctx.addIssue({ code: "custom", ...problem });
    // shared/cache holds the environments install_cache builds: a linked path there would be
    // the app's data among them.
    if (app.hooks.install_cache) {
      for (const [i, linked] of app.linked.entries()) {
        if (linked === "cache" || linked.startsWith("cache/")) {
          ctx.addIssue({
            code: "custom",
            path: ["linked", i],
            message:
              "shared/cache holds the environments of hooks.install_cache: link another path",
          });
        }
      }
    }
    // Promoting to the branch the host deploys from would make every deploy its own promotion.
    if (app.promote && app.promote.branch === app.repo.branch) {
      ctx.addIssue({
        code: "custom",
        path: ["promote", "branch"],
        message: `expected a branch other than repo.branch (${app.repo.branch}): followers track the promoted one`,
      });
    }
  },
  { when: (payload) => !payload.issues.some((i) => STRATEGY_KEYS.includes(i.path?.[0] ?? "")) },
);

const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected "host:port"')
  .refine((s) => Number(s.slice(s.lastIndexOf(":") + 1)) <= 65535, "port must be at most 65535");

// The events a notification target can be told of (DESIGN.md "Telling people").
export const NOTIFY_EVENTS = [
  "deployed",
  "rolled-back",
  "failed",
  "check-critical",
  "check-recovered",
  "promotion-failed",
] as const;

// A notification target: where (a URL, or a root-only file holding one, since a Slack webhook
// URL is a secret), in which format, of which events, for which apps. The URL's own validity is
// checked here; a url_file's content when the config is loaded against the host (load.ts).
const notifyTargetSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_-]*$/, "expected a target name: a lowercase word")
      .optional(),
    url: httpUrl.optional(),
    url_file: absolutePath.optional(),
    format: z.enum(["json", "slack"]).default("json"),
    events: z
      .array(z.enum(NOTIFY_EVENTS))
      .min(1)
      .default([...NOTIFY_EVENTS]),
    apps: z.array(z.string()).optional(),
    remind: duration.optional(),
  })
  .superRefine((target, ctx) => {
    if ((target.url === undefined) === (target.url_file === undefined)) {
      ctx.addIssue({
        code: "custom",
        message: "expected exactly one of url and url_file",
      });
    }
  });

export const configSchema = z
  .strictObject({
    apps: z
      .record(z.string().regex(/^[a-z][a-z0-9_-]*$/, "app names are lowercase words"), appSchema)
      .refine((apps) => Object.keys(apps).length > 0, "expected at least one app"),
    http: z.strictObject({ listen: listenAddress }).optional(),
    history: z.strictObject({ retention: duration.default(30 * 86_400_000) }).prefault({}),
    notify: z.array(notifyTargetSchema).default([]),
  })
  .superRefine((config, ctx) => {
    const names = new Map<string, number>();
    config.notify.forEach((target, i) => {
      for (const [j, app] of (target.apps ?? []).entries()) {
        if (!(app in config.apps)) {
          ctx.addIssue({
            code: "custom",
            path: ["notify", i, "apps", j],
            message: `no app "${app}" in apps`,
          });
        }
      }
      if (target.name === undefined) return;
      const first = names.get(target.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["notify", i, "name"],
          message: `repeats the name of notify.${first}`,
        });
      } else names.set(target.name, i);
    });
  });

export type Config = z.output<typeof configSchema>;
export type AppConfigFields = z.output<typeof appSchema>;
// An app's configuration together with its name, as every command receives it.
export type AppConfig = AppConfigFields & { name: string };
export type BlueGreenConfig = z.output<typeof blueGreenSchema>;
export type HealthConfig = z.output<typeof healthSchema>;
export type CustomCheckConfig = z.output<typeof customCheckSchema>;
export type NotifyTargetConfig = z.output<typeof notifyTargetSchema>;
export type NotifyEventName = (typeof NOTIFY_EVENTS)[number];
