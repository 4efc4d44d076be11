// Run a user hook (install, migrate) as the app user, with a clean environment and a deadline
// that holds: the hook runs in a transient systemd scope, so everything it starts, even a
// descendant in a session of its own that keeps our pipes open, ends when its time is up or when
// the hook itself exits.
import { randomBytes } from "node:crypto";
import type { AppConfig } from "../config/schema.js";
import type { Logger } from "../log.js";
import { runAs } from "../system/accounts.js";
import { cleanEnvironment } from "../system/clean-env.js";
import { killScopes, run } from "../system/run.js";

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

// The tail of a hook's output kept for the error message; all of it goes to the journal, line
// by line, as it is printed.
const KEPT_OUTPUT = 64 * 1024;

// The hook failed; the message is the short reason ("exit 1"), the output went to the log.
export class HookError extends Error {
  override name = "HookError";
}

// The prefix of every scope a hook of this app runs in. The dot cannot occur in an app name, so
// app "shop" never matches the scopes of an app "shop-hook-x".
export function hookScopePrefix(app: string): string {
  return `deploy-agent-hook-${app}.`;
}

// End whatever a hook of this app left running: called by a run that holds the app's lock, so
// any such scope belongs to a run that died (kill -9, a power cut of the agent alone, a timeout
// of the boot sync) and must not go on changing the DB while the new run recovers.
export async function killLeftoverHooks(app: string): Promise<void> {
  await killScopes(`${hookScopePrefix(app)}*.scope`);
}

// Run the hook through `sh -c` as the app user. Its output is streamed to the journal as it
// comes and only its tail is kept; SIGTERM at hooks.timeout, SIGKILL 5 s later, to the scope.
export async function runHook(inv: HookInvocation): Promise<void> {
  const { app } = inv;
  const user = await runAs(app.user, app.group);
  const seconds = Math.max(1, Math.ceil(app.hooks.timeout / 1000));
  const env = cleanEnvironment(user, {
    DEPLOY_AGENT_APP: app.name,
    DEPLOY_AGENT_REVISION: inv.revision,
    DEPLOY_AGENT_RELEASE_DIR: inv.releaseDir,
  });
  const result = await run("/bin/sh", ["-c", inv.command], {
    cwd: inv.cwd,
    uid: user.uid,
    gid: user.gid,
    env,
    cleanEnv: true,
    timeoutMs: app.hooks.timeout,
    reject: false,
    maxBuffer: KEPT_OUTPUT,
    scope: `${hookScopePrefix(app.name)}${inv.hook}.${randomBytes(4).toString("hex")}`,
    onLine: (line, stream) => {
      if (line.trim() !== "") inv.log.info({ step: inv.hook, hook: inv.hook, stream }, line);
    },
  });
  inv.log.info(
    { step: inv.hook, hook: inv.hook, exitCode: result.exitCode, durationMs: result.durationMs },
    `${inv.hook} hook finished`,
  );
  if (result.timedOut) throw new HookError(`${inv.hook} hook timed out after ${seconds}s`);
  if (result.exitCode !== 0) {
    const last = lastLine(result.stderr) || lastLine(result.stdout);
    throw new HookError(`exit ${result.exitCode}${last ? ` (${last})` : ""}`);
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return (lines[lines.length - 1] ?? "").trim().slice(0, 200);
}
