// Custom checks (`checks:` in the config): any command, Nagios plugins unchanged, judged by the
// plugin contract: exit 0/1/2/3 is ok/warning/critical/unknown and the first line of output the
// summary. Each runs as the app user (or the user it names, root only when it says so), in the
// live release, with a clean environment, in a transient systemd service of its own: at `timeout`
// the whole tree it started is ended, a child that holds its output and a daemonised leftover
// alike. A service, not a scope: systemd starts it, so under the daemon a plugin does not inherit
// the daemon's sandbox (no-new-privileges, its capability bounding set) and one that needs a file
// capability or setuid (check_icmp, check_dhcp) works on the schedule as from `agent check`.
import { randomBytes } from "node:crypto";
import type { AppConfig, CustomCheckConfig } from "../config/schema.js";
import { clip, printable } from "../output/sanitize.js";
import { lookupUser, type RunAs, runAs } from "../system/accounts.js";
import { cleanEnvironment } from "../system/clean-env.js";
import { type RunResult, run } from "../system/run.js";
import { liveReleaseOf } from "./live-release.js";
import { parsePerfdata, parsePluginOutput } from "./plugin-output.js";
import type { Check, CheckOutcome, CheckStatus } from "./types.js";

const STATUS_OF_EXIT: CheckStatus[] = ["ok", "warning", "critical", "unknown"];
// Output kept of a plugin: Nagios itself reads no more than a few KiB of it.
const MAX_OUTPUT = 64 * 1024;
// After SIGTERM at the time-out, SIGKILL this much later: a plugin that ignores the first
// signal is ended well within the second the contract allows past its time-out.
const KILL_AFTER_MS = 500;
const SUMMARY_LENGTH = 300;
const LONG_TEXT_LINES = 20;
const MAX_PERFDATA = 4096;

// The prefix of the units this app's custom checks run in (the dot cannot occur in an app name).
export function checkScopePrefix(app: string): string {
  return `deploy-agent-check-${app}.`;
}

// The Check that runs one configured custom check. Its cwd is the live release for every user,
// as DESIGN.md has it; the app user writes there, so a `user: root` check must name its programs
// by absolute path (PATH is the fixed safe one, without ".").
export function customCheck(config: CustomCheckConfig): Check {
  return {
    name: config.name,
    async run(ctx) {
      const live = await liveReleaseOf(ctx);
      if (!live) {
        return { status: "unknown", summary: "no live release to run in", details: {} };
      }
      const user = await userFor(ctx.app, config);
      const result = await run("/bin/sh", ["-c", config.command], {
        cwd: live.dir,
        uid: user.uid,
        gid: user.gid,
        env: cleanEnvironment(user, { DEPLOY_AGENT_APP: ctx.app.name }),
        cleanEnv: true,
        input: "",
        timeoutMs: config.timeout,
        killAfterMs: KILL_AFTER_MS,
        reject: false,
        maxBuffer: MAX_OUTPUT,
        keepHead: true,
        scope: `${checkScopePrefix(ctx.app.name)}${config.name}.${randomBytes(4).toString("hex")}`,
        asService: true,
      });
      return judgePlugin(config, user.name, result);
    },
  };
}

// Who runs the check: the app user with the app's group by default, a named user with their own
// primary group. root only by name, as the config says it.
async function userFor(app: AppConfig, config: CustomCheckConfig): Promise<RunAs> {
  if (config.user === undefined) return runAs(app.user, app.group);
  const account = await lookupUser(config.user);
  if (!account) throw new Error(`no user "${config.user}" on this host`);
  return account;
}

// The verdict by the plugin contract, with the reason spelled out where the plugin broke it.
export function judgePlugin(
  config: Pick<CustomCheckConfig, "command" | "timeout">,
  user: string,
  result: Pick<RunResult, "exitCode" | "stdout" | "stderr" | "timedOut" | "durationMs">,
): CheckOutcome {
  const output = parsePluginOutput(result.stdout);
  // The plugin runs as the app user, who may steer what it prints: every field is kept printable
  // (JSON escapes C0 controls, not C1 ones or bidi marks) and bounded.
  const perfdataRaw = printable(clip(output.perfdataRaw, MAX_PERFDATA));
  const details: Record<string, unknown> = {
    command: config.command,
    user,
    exitCode: result.exitCode,
    perfdata: parsePerfdata(perfdataRaw),
    perfdataRaw,
    longText: output.longText.slice(0, LONG_TEXT_LINES).map((l) => printable(l, SUMMARY_LENGTH)),
  };
  const said = printable(output.summary, SUMMARY_LENGTH);
  const stderr = printable(result.stderr.trim().split("\n").pop() ?? "", SUMMARY_LENGTH);
  if (result.timedOut) {
    return {
      status: "unknown",
      summary: `no result within ${config.timeout / 1000} s: ended, with everything it started`,
      details,
    };
  }
  if (said === "") {
    return {
      status: "unknown",
      summary: `printed nothing (exit ${result.exitCode})${stderr ? `; stderr: ${stderr}` : ""}`,
      details,
    };
  }
  const status = STATUS_OF_EXIT[result.exitCode];
  if (status === undefined) {
    return {
      status: "unknown",
      summary: `exit ${result.exitCode} is not a plugin status (0-3): ${said}`,
      details,
    };
  }
  return { status, summary: said, details };
}
