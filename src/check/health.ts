// Check "health": the health URL answers 2xx on fresh connections, every answer reports the
// same version, and that version is the live release's REVISION.
import { clip, printable } from "../output/sanitize.js";
import { liveReleaseOf } from "./live-release.js";
import type { Check, CheckOutcome } from "./types.js";
import { probeVersions, type VersionProbe } from "./version-probe.js";

export const healthCheck: Check = {
  name: "health",
  async run(ctx) {
    if (!ctx.app.health) return { status: "ok", summary: "not configured", details: {} };
    const live = await liveReleaseOf(ctx);
    return judgeProbe(await probeVersions(ctx.app, live?.revision));
  },
};

// Longest version kept from an answer or REVISION. A git sha is 40 (SHA-256: 64) characters;
// anything longer is the app's to explain, not ours to store and print in full.
export const MAX_VERSION = 80;

// Judge the answers: failures first, then disagreement, then the wrong version.
export function judgeProbe(probe: VersionProbe): CheckOutcome {
  const { answers } = probe;
  // The app writes both: cut to length here, so details and comparisons never see more.
  const expected = probe.expected === null ? null : clip(probe.expected, MAX_VERSION);
  const counts = countBy(
    answers.map((a) => (a.version === null ? "(none)" : clip(a.version, MAX_VERSION))),
  );
  const pids = [...new Set(answers.map((a) => a.pid).filter((p): p is number => p !== null))];
  const details = {
    url: probe.url,
    expected,
    requests: answers.length,
    versions: Object.fromEntries(counts),
    pids: pids.sort((a, b) => a - b),
    slowestMs: Math.max(0, ...answers.map((a) => a.ms)),
    errors: [...new Set(answers.map((a) => a.error).filter((e) => e !== null))],
  };
  const failed = answers.filter((a) => a.error !== null);
  if (failed.length > 0) {
    return {
      status: "critical",
      summary: `${failed.length} of ${answers.length} requests failed: ${printable(failed[0]?.error ?? "")}`,
      details,
    };
  }
  const seen = `${answers.length} requests, ${pids.length} pid${pids.length === 1 ? "" : "s"}`;
  if (counts.size > 1) {
    return {
      status: "critical",
      summary: `mixed versions: ${formatVersionSplit(counts)} (${seen})`,
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
