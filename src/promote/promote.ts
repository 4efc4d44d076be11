// Promotion across hosts (DESIGN.md): after a verified deploy, push the deployed commit to
// `promote.branch` on the same remote, fast-forward only, so that followers tracking that branch
// deploy exactly what this host verified. A push that fails leaves the deploy in place; the next
// sync or poll tries again (promotion-due.ts), and `agent check` warns until it lands.
import type { AppConfig } from "../config/schema.js";
import type { AppSession } from "../deploy/session.js";
import { shortSha } from "../deploy/step-names.js";
import { describeError } from "../errors.js";
import { displayUrl } from "../git/display-url.js";
import { remoteBranchHead } from "../git/ls-remote.js";
import { PushRejectedError, pushCommit } from "../git/push.js";
import { checkedRemoteAccess } from "../git/remote-access.js";
import { isAncestor } from "../git/revisions.js";
import { lastPromotionOf, type PromotionRecord, recordPromotion } from "../state/promotions.js";
import { promotionDue } from "./promotion-due.js";

export type Promotion = PromotionRecord & { repeated?: boolean };

// Promote `revision` (the live one, verified by a sync of this host) when it is due; undefined
// when there is nothing to do. Never throws: a promotion never fails a deploy.
export async function promoteIfDue(
  session: AppSession,
  revision: string,
): Promise<Promotion | undefined> {
  const { app, db, log, watcher } = session;
  if (!app.promote || !promotionDue(db, app, revision)) return undefined;
  const branch = app.promote.branch;
  const started = performance.now();
  let attempts = 0;
  let outcome: Promotion["outcome"];
  let message: string;
  try {
    ({ outcome, message, attempts } = await push(session, app, revision, branch));
  } catch (error) {
    outcome = "failed";
    message = describeError(error).split("\n")[0] ?? "";
    attempts = (error as { attempts?: number }).attempts ?? 1;
  }
  const before = lastPromotionOf(db, app.name, revision, branch);
  const record = recordPromotion(db, app.name, { revision, branch, outcome, attempts, message });
  const durationMs = Math.round(performance.now() - started);
  const where = `${branch} on ${displayUrl(app.repo.url)}`;
  if (outcome === "promoted") {
    log.info({ step: "promote", branch, revision, attempts, durationMs }, message);
    watcher({ type: "said", app: app.name, text: `${app.name}: ${message}` });
  } else {
    const text = `promotion of ${shortSha(revision)} to ${where} ${outcome}: ${message}; the deploy stays, the next sync or poll tries again`;
    log.warn({ step: "promote", branch, revision, attempts, durationMs, outcome }, text);
    watcher({ type: "said", app: app.name, text: `${app.name}: ${text}` });
  }
  // The same failure again is not news: people are told when it first fails, not every retry.
  return { ...record, repeated: outcome !== "promoted" && before?.outcome === outcome };
}

async function push(
  session: AppSession,
  app: AppConfig,
  revision: string,
  branch: string,
): Promise<{ outcome: Promotion["outcome"]; message: string; attempts: number }> {
  const { url, fetch_timeout: timeoutMs } = app.repo;
  const repo = session.layout.repo;
  const deadline = Date.now() + timeoutMs;
  // Where the branch is now decides between nothing to do, a fast-forward and a refusal.
  const access = await checkedRemoteAccess(app.repo);
  const remote = await remoteBranchHead(url, branch, timeoutMs, access);
  if (remote === revision) {
    return {
      outcome: "promoted",
      message: `${branch} already at ${shortSha(revision)}`,
      attempts: 0,
    };
  }
  if (remote && (await isAncestor(repo, revision, remote))) {
    return {
      outcome: "promoted",
      message: `${branch} is at ${shortSha(remote)}, which already holds ${shortSha(revision)}`,
      attempts: 0,
    };
  }
  if (remote && !(await isAncestor(repo, remote, revision))) {
    // A commit this repository does not hold is in no history of the deployed one either.
    return {
      outcome: "refused",
      message: `${branch} is at ${shortSha(remote)}, which is not an ancestor of ${shortSha(revision)}: not a fast-forward, and a promotion is never forced`,
      attempts: 0,
    };
  }
  try {
    const { attempts } = await pushCommit(repo, url, revision, branch, {
      timeoutMs: Math.max(1000, deadline - Date.now()),
      access,
      onAttemptFailed: ({ attempt, error, retryInMs }) =>
        session.log.warn(
          { step: "promote", attempt, retryInMs, err: error.message },
          "promotion push attempt failed",
        ),
    });
    return {
      outcome: "promoted",
      message: `promoted ${shortSha(revision)} to ${branch}${remote ? ` (was ${shortSha(remote)})` : " (new branch)"}`,
      attempts,
    };
  } catch (error) {
    const attempts = (error as { attempts?: number }).attempts ?? 1;
    const why = describeError(error).split("\n")[0] ?? "";
    const rejected = error instanceof PushRejectedError;
    return {
      outcome: rejected && /non-fast-forward|fetch first/.test(why) ? "refused" : "failed",
      message: `${rejected ? "the remote refused the push" : "push failed"}: ${why}`,
      attempts,
    };
  }
}
