// Start the copy worker (src/sqlite/copy-worker.ts) as a given user and read its answer.
import { agentProgram } from "../agent-version.js";
import { run } from "../system/run.js";
import type { CopyResult, CopySpec } from "./copy-worker.js";

export type { CopyResult, CopySpec } from "./copy-worker.js";

export interface Credentials {
  uid: number;
  gid: number;
}

// A copy and its quick_check are given two minutes, plus a second for every 10 MB of the
// source: a slow disk is waited for, a stuck copy (during a deploy the app is stopped for it) is
// not waited for an hour.
const BASE_TIMEOUT_MS = 2 * 60_000;
const BYTES_PER_SECOND = 10 * 1024 * 1024;

// Run one copy in a child process: as `as` (the app user) or, when omitted, as root. The child's
// environment is clean: nothing of root's (NODE_OPTIONS, HOME) reaches a process of the app user.
// Only an exit 0 with an "ok" answer counts: the app user can write to its own process's stdout.
export async function copyDatabaseAs(
  spec: CopySpec,
  as?: Credentials,
  sourceBytes = 0,
): Promise<CopyResult> {
  const result = await run(process.execPath, [agentProgram(), "__sqlite-copy"], {
    input: JSON.stringify(spec),
    uid: as?.uid,
    gid: as?.gid,
    cwd: "/",
    cleanEnv: true,
    env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
    timeoutMs: BASE_TIMEOUT_MS + Math.ceil(sourceBytes / BYTES_PER_SECOND) * 1000,
    // The app user can SIGSTOP its own processes: a frozen copy must not hold a stopped app.
    stoppedLimitMs: 10_000,
    maxBuffer: 64 * 1024,
    reject: false,
  });
  const last = result.stdout.trim().split("\n").pop() ?? "";
  let answer: ({ ok: true } & CopyResult) | { ok: false; error: string } | undefined;
  try {
    answer = JSON.parse(last);
  } catch {
    answer = undefined;
  }
  if (answer?.ok && result.exitCode === 0 && !result.timedOut) {
    const { ok: _ok, ...copy } = answer;
    return copy;
  }
  const why =
    answer && !answer.ok
      ? answer.error
      : result.timedOut
        ? "timed out"
        : lastLine(result.stderr) || `exit ${result.exitCode}`;
  throw new Error(`copy of ${spec.source} failed: ${why}`);
}

function lastLine(text: string): string {
  return (text.trim().split("\n").pop() ?? "").slice(0, 300);
}
