// Check "drift": is the live release the head of its branch, as of the last fetch into repo/?
import { stat } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { isBareRepo } from "../git/bare-repo.js";
import { branchAt, countCommitsBetween, hasCommit, resolveCommit } from "../git/revisions.js";
import { type AppLayout, type LiveRelease, readLiveRelease } from "../release/layout.js";
import { liveReleaseOf } from "./live-release.js";
import type { Check, CheckOutcome } from "./types.js";

export const driftCheck: Check = {
  name: "drift",
  run: (ctx) => inspectDrift(ctx.app, ctx.layout, liveReleaseOf(ctx)),
};

// Compare REVISION with refs/heads/<branch> in repo/. It never fetches: a check must be cheap
// and must not depend on the remote; the sync keeps repo/ fresh. Behind is a warning (a
// deploy is due or failed), not critical: the live release still serves.
export async function inspectDrift(
  app: AppConfig,
  layout: AppLayout,
  liveRelease?: Promise<LiveRelease | undefined>,
): Promise<CheckOutcome> {
  const branch = app.repo.branch;
  if (!(await isBareRepo(layout.repo))) {
    return {
      status: "ok",
      summary: "nothing fetched yet (no repo/): no branch to compare with",
      details: { branch },
    };
  }
  const live = await (liveRelease ?? readLiveRelease(layout));
  // Usually the branch is at the live commit: git's ref files say so without starting git.
  const head =
    live && (await branchAt(layout.repo, branch, live.revision))
      ? live.revision
      : await resolveCommit(layout.repo, `refs/heads/${branch}`);
  const fetchedAt = await lastFetch(layout.repo);
  if (!head) {
    return {
      status: "ok",
      summary: `branch ${branch} not fetched yet`,
      details: { branch, fetchedAt },
    };
  }
  const details: Record<string, unknown> = {
    branch,
    head,
    live: live?.revision ?? null,
    fetchedAt,
  };
  if (!live)
    return { status: "unknown", summary: "no live release to compare with the branch", details };
  const short = (sha: string) => sha.slice(0, 12);
  if (live.revision === head) {
    return {
      status: "ok",
      summary: `live ${short(head)} is the head of ${branch}`,
      details: { ...details, behind: 0 },
    };
  }
  if (!(await hasCommit(layout.repo, live.revision))) {
    return {
      status: "warning",
      summary: `live ${short(live.revision)} is not in the history of repo/ (${branch} at ${short(head)})`,
      details,
    };
  }
  const behind = await countCommitsBetween(layout.repo, live.revision, head);
  const ahead = await countCommitsBetween(layout.repo, head, live.revision);
  const where =
    behind > 0
      ? `${behind} commit${behind === 1 ? "" : "s"} behind ${branch}`
      : `${ahead} commit${ahead === 1 ? "" : "s"} not on ${branch}`;
  return {
    status: "warning",
    summary: `live ${short(live.revision)} is ${where} (${short(head)})`,
    details: { ...details, behind, ahead },
  };
}

// When the branch was last fetched: the time its ref file (or packed-refs) last changed.
async function lastFetch(repo: string): Promise<string | null> {
  for (const file of ["FETCH_HEAD", "packed-refs"]) {
    const info = await stat(path.join(repo, file)).catch(() => undefined);
    if (info) return info.mtime.toISOString();
  }
  return null;
}
