// Step 2: fetch the branch (and tags) into repo/ and name the commit to deploy. repo/ is a cache
// of the remote: when it is damaged (a power cut mid-write, a missing pack) or not root's alone,
// it is moved aside and fetched afresh, so a sync never fails for ever because of it.
import { lstat } from "node:fs/promises";
import type { AppConfig } from "../config/schema.js";
import { commitComplete, ensureBareRepo, quarantineRepo, repoProblem } from "../git/bare-repo.js";
import { fetchWithDeadline } from "../git/fetch.js";
import { checkedRemoteAccess } from "../git/remote-access.js";
import { branchAt, resolveCommit } from "../git/revisions.js";
import type { Logger } from "../log.js";
import type { AppLayout } from "../release/layout.js";

export interface FetchedTarget {
  sha: string;
  // What was asked for: the branch, or --ref.
  ref: string;
  attempts: number;
  // Set when repo/ had to be moved aside and fetched afresh: where the old one went.
  repaired?: string;
}

// Fetch and resolve the commit to deploy: the branch head, or `ref` (a tag, another branch or
// a commit) when given. Tags come along so `--ref v1.2` works without a second round trip.
export async function fetchTarget(
  app: AppConfig,
  layout: AppLayout,
  ref: string | undefined,
  log: Logger,
  live?: string,
): Promise<FetchedTarget> {
  let repaired: string | undefined;
  const problem = (await isRepo(layout.repo)) ? await repoProblem(layout.repo) : undefined;
  if (problem) repaired = await setAside(layout, problem, log);
  let target = await fetchOnce(app, layout, ref, log, live);
  // Nothing will be built from the live commit: a no-op sync costs the fetch and nothing more.
  if (target.sha === live) return { ...target, repaired };
  let complete = await commitComplete(layout.repo, target.sha);
  if (!complete && !repaired) {
    // Objects of the commit are missing although git fetched "everything": the local store lost
    // them (a pack cut short at a power cut). Start afresh once.
    repaired = await setAside(layout, `objects of ${target.sha.slice(0, 12)} are missing`, log);
    target = await fetchOnce(app, layout, ref, log);
    complete = await commitComplete(layout.repo, target.sha);
  }
  if (!complete) {
    throw new Error(
      `${app.repo.url} gave commit ${target.sha.slice(0, 12)} without all of its files`,
    );
  }
  return { ...target, repaired };
}

async function fetchOnce(
  app: AppConfig,
  layout: AppLayout,
  ref: string | undefined,
  log: Logger,
  live?: string,
): Promise<FetchedTarget> {
  const { url, branch, fetch_timeout: timeoutMs } = app.repo;
  const access = await checkedRemoteAccess(app.repo);
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
    { timeoutMs, onAttemptFailed, access },
  );
  const wanted = ref ?? `refs/heads/${branch}`;
  // The branch still at the live commit (a no-op sync): git's ref files say so without a git run.
  const unmoved =
    ref === undefined && live !== undefined && (await branchAt(layout.repo, branch, live));
  let sha = unmoved ? live : await resolveCommit(layout.repo, wanted);
  if (!sha && ref) {
    // Not the branch, not a tag, not a commit we hold: ask the remote for exactly that name.
    await fetchWithDeadline(layout.repo, url, [ref], { timeoutMs, onAttemptFailed, access });
    sha = await resolveCommit(layout.repo, "FETCH_HEAD");
  }
  if (!sha) throw new Error(`${url} has no commit named ${wanted}`);
  return { sha, ref: ref ?? branch, attempts };
}

async function isRepo(dir: string): Promise<boolean> {
  return (await lstat(dir).catch(() => undefined)) !== undefined;
}

// Move repo/ aside (kept for a person to look at) and say so in the journal.
async function setAside(layout: AppLayout, why: string, log: Logger): Promise<string> {
  const aside = await quarantineRepo(layout.repo);
  log.warn(
    { step: "fetch", repo: layout.repo, movedTo: aside, reason: why },
    "repo/ damaged or not root's alone: moved aside, fetching afresh",
  );
  return aside;
}
