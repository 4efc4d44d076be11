// Step 2: fetch the branch (and tags) into repo/ and name the commit to deploy.
import type { AppConfig } from "../config/schema.js";
import { ensureBareRepo } from "../git/bare-repo.js";
import { fetchWithDeadline } from "../git/fetch.js";
import { resolveCommit } from "../git/revisions.js";
import type { Logger } from "../log.js";
import type { AppLayout } from "../release/layout.js";

export interface FetchedTarget {
  sha: string;
  // What was asked for: the branch, or --ref.
  ref: string;
  attempts: number;
}

// Fetch and resolve the commit to deploy: the branch head, or `ref` (a tag, another branch or
// a commit) when given. Tags come along so `--ref v1.2` works without a second round trip.
export async function fetchTarget(
  app: AppConfig,
  layout: AppLayout,
  ref: string | undefined,
  log: Logger,
): Promise<FetchedTarget> {
  const { url, branch, fetch_timeout: timeoutMs } = app.repo;
  await ensureBareRepo(layout.repo);
  const onAttemptFailed = ({
    attempt,
    error,
    retryInMs,
  }: {
    attempt: number;
    error: Error;
    retryInMs?: number;
  }) => log.warn({ step: "fetch", attempt, retryInMs, err: error.message }, "fetch attempt failed");
  const { attempts } = await fetchWithDeadline(
    layout.repo,
    url,
    [`+refs/heads/${branch}:refs/heads/${branch}`, "+refs/tags/*:refs/tags/*"],
    { timeoutMs, onAttemptFailed },
  );
  const wanted = ref ?? `refs/heads/${branch}`;
  let sha = await resolveCommit(layout.repo, wanted);
  if (!sha && ref) {
    // Not the branch, not a tag, not a commit we hold: ask the remote for exactly that name.
    await fetchWithDeadline(layout.repo, url, [ref], { timeoutMs, onAttemptFailed });
    sha = await resolveCommit(layout.repo, "FETCH_HEAD");
  }
  if (!sha) throw new Error(`${url} has no commit named ${wanted}`);
  return { sha, ref: ref ?? branch, attempts };
}
