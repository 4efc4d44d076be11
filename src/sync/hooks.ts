// Run a user hook (install, migrate) as the app user, with a clean environment and a deadline.
import type { AppConfig } from "../config/schema.js";
import type { Logger } from "../log.js";
import { lookupGroupId, lookupUser } from "../system/accounts.js";
import { run } from "../system/run.js";

export interface HookInvocation {
  app: AppConfig;
  hook: "install" | "migrate";
  command: string;
  cwd: string;
  // The release the hook works for, as it is (or will be) named under releases/.
  releaseDir: string;
  revision: string;
  log: Logger;
}

// Exit 124 is how coreutils timeout reports that it had to kill the command.
const TIMED_OUT = 124;
const SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The hook failed; the message is the short reason ("exit 1"), the output went to the log.
export class HookError extends Error {
  override name = "HookError";
}

// Run the hook through `sh -c` under coreutils `timeout`, which signals the hook's whole
// process group: killing only the shell would leave pip or a migration running, holding our
// pipes open, and the step would wait for it however long it takes.
export async function runHook(inv: HookInvocation): Promise<void> {
  const { app } = inv;
  const user = await lookupUser(app.user);
  const gid = await lookupGroupId(app.group);
  if (!user || gid === undefined) throw new HookError(`no user ${app.user}:${app.group}`);
  const seconds = Math.max(1, Math.ceil(app.hooks.timeout / 1000));
  const env = {
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: "/bin/sh",
    PATH: SAFE_PATH,
    LANG: "C.UTF-8",
    DEPLOY_AGENT_APP: app.name,
    DEPLOY_AGENT_REVISION: inv.revision,
    DEPLOY_AGENT_RELEASE_DIR: inv.releaseDir,
  };
  const result = await run("timeout", ["-k", "5", String(seconds), "/bin/sh", "-c", inv.command], {
    cwd: inv.cwd,
    uid: user.uid,
    gid,
    env,
    cleanEnv: true,
    timeoutMs: (seconds + 15) * 1000,
    reject: false,
  });
  logOutput(inv, result.stdout, "stdout");
  logOutput(inv, result.stderr, "stderr");
  inv.log.info(
    { step: inv.hook, hook: inv.hook, exitCode: result.exitCode, durationMs: result.durationMs },
    `${inv.hook} hook finished`,
  );
  if (result.exitCode === TIMED_OUT || result.timedOut) {
    throw new HookError(`${inv.hook} hook timed out after ${seconds}s`);
  }
  if (result.exitCode !== 0) {
    const last = lastLine(result.stderr) || lastLine(result.stdout);
    throw new HookError(`exit ${result.exitCode}${last ? ` (${last})` : ""}`);
  }
}

// One log event per output line, so journald shows the hook's words as it printed them.
function logOutput(inv: HookInvocation, text: string, stream: "stdout" | "stderr"): void {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  for (const line of lines.slice(-500)) {
    inv.log.info({ step: inv.hook, hook: inv.hook, stream }, line);
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return (lines[lines.length - 1] ?? "").trim().slice(0, 200);
}
