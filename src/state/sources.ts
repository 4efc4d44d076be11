// Where each deployed commit came from, as trust in what is pulled needs it: the configured source
// (repo.url and branch, hashed) and who signed the commit.
import { createHash } from "node:crypto";
import { displayUrl } from "../git/display-url.js";
import type { StateDb } from "./state-db.js";

// The source of a deploy as stored: a hash, since a URL may carry a credential, and equality is
// all that is ever asked of it.
// The URL without a user name or password: a rotated token is the same source.
export function sourceKey(url: string, branch: string): string {
  return createHash("sha256")
    .update(`${displayUrl(url)}\n${branch}`)
    .digest("hex");
}

// Record the source and the signer (when allowed_signers is set) of a deployment.
export function recordSource(
  db: StateDb,
  deploymentId: number,
  source: string,
  signer: string | undefined,
): void {
  db.prepare("UPDATE deployments SET source = ?, signer = ? WHERE id = ?").run(
    source,
    signer ?? null,
    deploymentId,
  );
}

// The source and signer of the sync that made `revision` live: the newest deployment of it that
// was verified (a rollback puts a release back and records no source of its own: the sync that
// first deployed that revision does).
export function liveSource(
  db: StateDb,
  app: string,
  revision: string,
): { source: string | null; signer: string | null } | undefined {
  const row = db
    .prepare(
      `SELECT source, signer FROM deployments
       WHERE app = ? AND revision = ? AND outcome = 'deployed' AND source IS NOT NULL
       ORDER BY id DESC LIMIT 1`,
    )
    .get(app, revision) as { source: string | null; signer: string | null } | undefined;
  return row;
}
