// Trust in what is pulled (DESIGN.md "Promotion across hosts"): before anything is built, the
// commit to deploy must descend from the live one while the configured source is unchanged (no
// force push slips in), and must be signed by an allowed key when allowed_signers is set.
import type { AppConfig } from "../config/schema.js";
import { shortSha } from "../deploy/step-names.js";
import { rootOnlyFileProblem } from "../fs/root-only-file.js";
import { displayUrl } from "../git/display-url.js";
import { isAncestor } from "../git/revisions.js";
import { verifyCommitSignature } from "../git/signature.js";
import type { AppLayout, LiveRelease } from "../release/layout.js";
import { liveSource, sourceKey } from "../state/sources.js";
import type { StateDb } from "../state/state-db.js";

// The commit is refused: nothing was touched, and the message names the commit and why.
export class UntrustedCommitError extends Error {
  override name = "UntrustedCommitError";
}

export interface TrustedTarget {
  // The configured source, recorded with the deployment so the next sync can tell a deliberate
  // change of url or branch from a rewrite of the same branch.
  source: string;
  // Who signed the commit, when allowed_signers is set.
  signer?: string;
}

export async function assertTrusted(
  app: AppConfig,
  layout: AppLayout,
  db: StateDb,
  target: { sha: string; ref: string },
  live: LiveRelease | undefined,
  // --ref: the operator named the commit; only its signature is checked.
  explicitRef: boolean,
): Promise<TrustedTarget> {
  const { url, branch, allow_rewrites: allowRewrites, allowed_signers: signers } = app.repo;
  const source = sourceKey(url, branch);
  // A commit the operator named is a source of its own: the branch's next head need not descend
  // from it (a hotfix tag deployed, then the branch again).
  const recordAs = explicitRef ? sourceKey(url, `${branch}\n--ref ${target.ref}`) : source;
  if (live && !explicitRef && !allowRewrites) {
    // A revision deployed before sources were recorded counts as the same source: refusing to
    // judge would let a rewrite through.
    const recorded = liveSource(db, app.name, live.revision)?.source ?? source;
    if (recorded === source && !(await isAncestor(layout.repo, live.revision, target.sha))) {
      throw new UntrustedCommitError(
        `${app.name}: ${branch} on ${displayUrl(url)} is at ${shortSha(target.sha)}, which does not descend from the live ${shortSha(live.revision)} (history rewritten: a force push?); refused, nothing changed. Set repo.allow_rewrites: true to accept rewritten history`,
      );
    }
  }
  if (!signers) return { source: recordAs };
  // Whoever can write the file (or rename a directory above it) decides what root deploys.
  const problem = await rootOnlyFileProblem(signers);
  if (problem) {
    throw new UntrustedCommitError(
      `${app.name}: repo.allowed_signers: ${problem}; ${shortSha(target.sha)} refused, nothing changed`,
    );
  }
  const verdict = await verifyCommitSignature(layout.repo, target.sha, signers);
  if (!verdict.good) {
    throw new UntrustedCommitError(
      `${app.name}: ${shortSha(target.sha)} (${target.ref}) refused: ${verdict.reason} (repo.allowed_signers ${signers}); nothing changed`,
    );
  }
  return { source: recordAs, signer: verdict.signer };
}
