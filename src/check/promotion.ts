// Check "promotion" (only with `promote:`): the live commit, verified by a sync of this host, has
// reached promote.branch on the remote. Until a push lands it is a warning: the deploy stands, but
// the hosts that follow the branch do not get it. Read from the state DB: the check never asks
// the remote (the sync and the poll do, and retry).
import { shortSha } from "../deploy/step-names.js";
import { lastPromotionOf, verifiedBySync } from "../state/promotions.js";
import { openStateDb } from "../state/state-db.js";
import { liveReleaseOf } from "./live-release.js";
import type { Check, CheckOutcome } from "./types.js";

export const promotionCheck: Check = {
  name: "promotion",
  async run(ctx) {
    const branch = ctx.app.promote?.branch;
    if (!branch) return { status: "ok", summary: "not configured", details: {} };
    const live = await liveReleaseOf(ctx);
    if (!live) return { status: "ok", summary: "nothing live to promote", details: { branch } };
    const db = openStateDb();
    try {
      return judgePromotion(
        branch,
        live.revision,
        verifiedBySync(db, ctx.app.name, live.revision),
        lastPromotionOf(db, ctx.app.name, live.revision, branch),
      );
    } finally {
      db.close();
    }
  },
};

export function judgePromotion(
  branch: string,
  revision: string,
  verifiedHere: boolean,
  last: ReturnType<typeof lastPromotionOf>,
): CheckOutcome {
  const details = {
    branch,
    revision,
    outcome: last?.outcome ?? null,
    at: last?.at ?? null,
    attempts: last?.attempts ?? 0,
    message: last?.message ?? null,
  };
  const sha = shortSha(revision);
  if (!verifiedHere) {
    return {
      status: "ok",
      summary: `live ${sha} was put back by a rollback or restore: nothing to promote`,
      details,
    };
  }
  if (last?.outcome === "promoted") {
    return { status: "ok", summary: `${sha} promoted to ${branch} at ${last.at}`, details };
  }
  if (!last) {
    return {
      status: "warning",
      summary: `${sha} not promoted to ${branch} yet: the next sync or poll pushes it`,
      details,
    };
  }
  return {
    status: "warning",
    summary: `${sha} not promoted to ${branch}: ${last.outcome} at ${last.at}: ${last.message ?? "no reason recorded"}; the next sync or poll tries again`,
    details,
  };
}
