// Check "health": every worker of the unit is proven to serve the live release, by the process
// itself (its working directory is the live release; for verify, it started after the switch)
// and by its answer (the probe goes on until every worker PID has answered the health URL on a
// fresh connection); every answer reports the same version, and that is the live REVISION.
import { realpath } from "node:fs/promises";
import path from "node:path";
import { clip, printable } from "../output/sanitize.js";
import { startedAtMs, startedSinceBootMs } from "../system/processes.js";
import { liveReleaseOf } from "./live-release.js";
import { type UnitMember, unitProcessesOf } from "./processes.js";
import type { Check, CheckContext, CheckOutcome } from "./types.js";
import { probeVersions, type VersionProbe } from "./version-probe.js";

export const healthCheck: Check = {
  name: "health",
  async run(ctx) {
    if (!ctx.app.health) return { status: "ok", summary: "not configured", details: {} };
    // The probe starts while the unit's processes are still being read (systemd, the cgroup,
    // /proc): it needs the worker PIDs only after its first health.requests answers.
    const unitRead = unitProcessesOf(ctx);
    // The answers must come from the workers; a single-process app answers from its master.
    const serving = unitRead.then((unit) =>
      unit.workers.length > 0 ? unit.workers : unit.masters,
    );
    // Awaited by the probe, which rethrows; until then a failed read is not an unhandled one.
    serving.catch(() => {});
    const live = await liveReleaseOf(ctx);
    const [probe, proof] = await Promise.all([
      probeVersions(ctx.app, live?.revision, serving),
      unitRead.then((unit) =>
        live ? proveWorkers(ctx, live.dir, unit.members, unit.masters) : undefined,
      ),
    ]);
    return judgeProbe(probe, proof);
  },
};

// Longest version kept from an answer or REVISION. A git sha is 40 (SHA-256: 64) characters;
// anything longer is the app's to explain, not ours to store and print in full.
export const MAX_VERSION = 80;

// What the processes themselves say about the release they run.
export interface WorkerProof {
  // The live release as the kernel names it (symlinks above it resolved).
  release: string;
  // Masters and workers whose working directory is another release (or a deleted one).
  elsewhere: { pid: number; role: "master" | "worker"; cwd: string }[];
  // For verify: those that started before the switch (ms since the epoch), with when they did.
  early: { pid: number; startedAt: string }[];
  // Processes whose working directory is outside releases/ altogether: the cwd proves nothing
  // there (an app run with --chdir elsewhere), and the summary says so.
  unproven: number[];
}

// Margin under the start time of a process against the switch: /proc gives it to 10 ms.
const START_SLACK_MS = 50;

// Read every master's and worker's cwd (and start time, when the run says when the switch was).
export async function proveWorkers(
  ctx: Pick<CheckContext, "layout" | "switchedAt">,
  releaseDir: string,
  members: UnitMember[],
  masters: number[],
): Promise<WorkerProof> {
  const release = await realpath(releaseDir).catch(() => releaseDir);
  const releases = await realpath(ctx.layout.releases).catch(() => ctx.layout.releases);
  const proof: WorkerProof = { release, elsewhere: [], early: [], unproven: [] };
  for (const member of members) {
    const role = masters.includes(member.pid) ? "master" : "worker";
    const cwd = member.cwd ?? "";
    const inside = (dir: string) => cwd === dir || cwd.startsWith(`${dir}/`);
    if (cwd.endsWith(" (deleted)") || (inside(releases) && !inside(release))) {
      proof.elsewhere.push({ pid: member.pid, role, cwd });
    } else if (!inside(release)) {
      proof.unproven.push(member.pid);
    }
    if (
      ctx.switchedAt !== undefined &&
      startedSinceBootMs(member.startTicks) < ctx.switchedAt - START_SLACK_MS
    ) {
      const started = await startedAtMs(member.startTicks);
      proof.early.push({ pid: member.pid, startedAt: new Date(started).toISOString() });
    }
  }
  return proof;
}

// Judge the answers and the processes: failures first, then disagreement, then a process in
// another release or from before the switch, then a worker that never answered, then the wrong
// version.
export function judgeProbe(probe: VersionProbe, proof?: WorkerProof): CheckOutcome {
  const { answers } = probe;
  // The app writes both: cut to length here, so details and comparisons never see more.
  const expected = probe.expected === null ? null : clip(probe.expected, MAX_VERSION);
  const counts = countBy(
    answers.map((a) => (a.version === null ? "(none)" : clip(a.version, MAX_VERSION))),
  );
  const pids = [...new Set(answers.map((a) => a.pid).filter((p): p is number => p !== null))];
  const unheard = probe.workers.filter((pid) => !pids.includes(pid));
  const details = {
    url: probe.url,
    expected,
    requests: answers.length,
    versions: Object.fromEntries(counts),
    pids: pids.sort((a, b) => a - b),
    workers: probe.workers,
    unheard,
    probeMs: probe.durationMs,
    slowestMs: Math.max(0, ...answers.map((a) => a.ms)),
    errors: [...new Set(answers.map((a) => a.error).filter((e) => e !== null))],
    ...(proof ? { release: proof.release, elsewhere: proof.elsewhere, early: proof.early } : {}),
  };
  const failed = answers.filter((a) => a.error !== null);
  if (failed.length > 0) {
    return {
      status: "critical",
      summary: `${failed.length} of ${answers.length} requests failed: ${printable(failed[0]?.error ?? "")}`,
      details,
    };
  }
  const seen = seenText(answers.length, pids.length, probe.workers.length, unheard.length);
  if (counts.size > 1) {
    return {
      status: "critical",
      summary: `mixed versions: ${formatVersionSplit(counts)} (${seen})`,
      details,
    };
  }
  if (proof && proof.elsewhere.length > 0) {
    const list = proof.elsewhere
      .map((p) => `${p.role} ${p.pid} in ${printable(releaseName(p.cwd))}`)
      .join(", ");
    return {
      status: "critical",
      summary: `${list}: not the live release ${printable(path.basename(proof.release))} (${seen})`,
      details,
    };
  }
  if (proof && proof.early.length > 0) {
    const list = proof.early.map((p) => `${p.pid} (${p.startedAt})`).join(", ");
    return {
      status: "critical",
      summary: `started before the switch, so not the new code: pid ${list}`,
      details,
    };
  }
  if (unheard.length > 0) {
    return {
      status: "critical",
      summary: `worker${unheard.length === 1 ? "" : "s"} ${unheard.join(", ")} never answered (${answers.length} requests in ${probe.durationMs} ms): wedged or not accepting`,
      details,
    };
  }
  const [version] = [...counts.keys()];
  if (version === "(none)") {
    return { status: "critical", summary: `answers carry no version (${seen})`, details };
  }
  if (expected === null) {
    return {
      status: "unknown",
      summary: `serving ${shownVersion(version ?? "")}, but no live release to compare with`,
      details,
    };
  }
  if (version !== expected) {
    return {
      status: "critical",
      summary: `serving ${shownVersion(version ?? "")}, live release is ${shownVersion(expected)} (${seen})`,
      details,
    };
  }
  return { status: "ok", summary: `${shownVersion(expected)} (${seen})`, details };
}

// "20 requests, 3 of 3 workers heard" when the workers were known and the answers carry PIDs;
// "20 requests, 1 pid" otherwise, with the reason it could not be more.
function seenText(requests: number, pids: number, workers: number, unheard: number): string {
  if (workers > 0) return `${requests} requests, ${workers - unheard} of ${workers} workers heard`;
  if (pids === 0) return `${requests} requests; the answers carry no pid, workers not told apart`;
  return `${requests} requests, ${pids} pid${pids === 1 ? "" : "s"}`;
}

// A release directory's name from a cwd inside it ("/srv/shop/releases/X/sub" → "X").
function releaseName(cwd: string): string {
  const parts = cwd.replace(/ \(deleted\)$/, "").split("/");
  const at = parts.lastIndexOf("releases");
  return at >= 0 && parts[at + 1] ? (parts[at + 1] as string) : cwd;
}

// "7×abc123def456 3×0123456789ab": most common first, ties by name, so output is stable.
export function formatVersionSplit(counts: Map<string, number>): string {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([version, n]) => `${n}×${shownVersion(version)}`)
    .join(" ");
}

// A git sha shortened to 12 characters, as release names have it; anything else as it is.
export function shortVersion(version: string): string {
  return /^[0-9a-f]{13,}$/.test(version) ? version.slice(0, 12) : version;
}

// A version as the summary shows it: shortened if a sha, and printable, since the app chose it
// and summaries end up on an operator's terminal.
function shownVersion(version: string): string {
  return printable(shortVersion(version));
}

// Count equal values, keeping first-seen order.
function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}
