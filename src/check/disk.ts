// Check "disk": free space (and inodes) on the filesystem holding the app directory.
import { statfs } from "node:fs/promises";
import { formatBytes } from "./format.js";
import type { Check, CheckOutcome, CheckStatus } from "./types.js";

// Below these fractions free, a DB write or a new release may soon fail.
export const WARN_BELOW = 0.1;
export const CRITICAL_BELOW = 0.05;

export interface DiskFacts {
  path: string;
  freeBytes: number;
  totalBytes: number;
  freeInodes: number;
  totalInodes: number;
}

export const diskCheck: Check = {
  name: "disk",
  async run(ctx) {
    // Free for unprivileged users (bavail): the app runs as one, the root reserve is not its.
    const fs = await statfs(ctx.app.dir);
    return judgeDisk({
      path: ctx.app.dir,
      freeBytes: fs.bavail * fs.bsize,
      totalBytes: fs.blocks * fs.bsize,
      freeInodes: fs.ffree,
      totalInodes: fs.files,
    });
  },
};

// Status for a free fraction: warning under 10 %, critical under 5 %.
export function freeStatus(free: number, total: number): CheckStatus {
  // Filesystems without a fixed count (some report 0 inodes) cannot run out of it.
  if (total <= 0) return "ok";
  const fraction = free / total;
  if (fraction < CRITICAL_BELOW) return "critical";
  if (fraction < WARN_BELOW) return "warning";
  return "ok";
}

// Judge space and inodes; the worse of the two wins and is named.
export function judgeDisk(facts: DiskFacts): CheckOutcome {
  const space = freeStatus(facts.freeBytes, facts.totalBytes);
  const inodes = freeStatus(facts.freeInodes, facts.totalInodes);
  const pct = (free: number, total: number) =>
    total > 0 ? `${Math.floor((free / total) * 100)} %` : "n/a";
  const spaceText = `${formatBytes(facts.freeBytes)} free of ${formatBytes(facts.totalBytes)} (${pct(facts.freeBytes, facts.totalBytes)})`;
  const details = { ...facts, freePercent: pct(facts.freeBytes, facts.totalBytes) };
  if (inodes !== "ok" && (space === "ok" || inodes === "critical")) {
    return {
      status: inodes,
      summary: `${facts.freeInodes} inodes free (${pct(facts.freeInodes, facts.totalInodes)}) on ${facts.path}; ${spaceText}`,
      details,
    };
  }
  return { status: space, summary: `${spaceText} on ${facts.path}`, details };
}
