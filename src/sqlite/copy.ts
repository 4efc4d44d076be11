// Start the copy worker (src/sqlite/copy-worker.ts) as a given user and read its answer.
import { agentProgram } from "../agent-version.js";
import { run } from "../system/run.js";
import type { CopyResult, CopySpec } from "./copy-worker.js";

export type { CopyResult, CopySpec } from "./copy-worker.js";

export interface Credentials {
  uid: number;
  gid: number;
}

// Even a multi-GB copy and its quick_check finish well within this on any disk we would run on.
const COPY_TIMEOUT_MS = 60 * 60_000;

// Run one copy in a child process: as `as` (the app user) or, when omitted, as root. The child's
// environment is clean: nothing of root's (NODE_OPTIONS, HOME) reaches a process of the app user.
export async function copyDatabaseAs(spec: CopySpec, as?: Credentials): Promise<CopyResult> {
  const result = await run(process.execPath, [agentProgram(), "__sqlite-copy"], {
    input: JSON.stringify(spec),
    uid: as?.uid,
    gid: as?.gid,
    cwd: "/",
    cleanEnv: true,
    env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
    timeoutMs: COPY_TIMEOUT_MS,
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
  if (answer?.ok) {
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
