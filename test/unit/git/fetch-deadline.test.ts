// Fetching with real git against local remotes: a good one, a missing one, one that never answers.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ensureBareRepo } from "../../../src/git/bare-repo.js";
import { FetchError, fetchWithDeadline } from "../../../src/git/fetch.js";
import { resolveCommit } from "../../../src/git/revisions.js";
import { listProcesses } from "../../../src/system/processes.js";

const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-fetch-"));
const git = (...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t.invalid", ...args], {
    encoding: "utf8",
  }).trim();

describe("fetchWithDeadline", () => {
  const remote = path.join(dir, "remote.git");
  const repo = path.join(dir, "repo");
  let head = "";
  let server: Server;
  const sockets: Socket[] = [];
  let port = 0;

  before(async () => {
    git("init", "-q", "--bare", "-b", "main", remote);
    const work = path.join(dir, "work");
    git("init", "-q", "-b", "main", work);
    git("-C", work, "commit", "-q", "--allow-empty", "-m", "first");
    git("-C", work, "push", "-q", remote, "main");
    head = git("-C", work, "rev-parse", "HEAD");
    await ensureBareRepo(repo);
    // Accepts connections and never says a word: git waits for the server's greeting forever.
    server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    for (const s of sockets) s.destroy();
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("fetches the branch into the bare repo", async () => {
    const { attempts } = await fetchWithDeadline(
      repo,
      remote,
      ["+refs/heads/main:refs/heads/main"],
      {
        timeoutMs: 20_000,
      },
    );
    assert.equal(attempts, 1);
    assert.equal(await resolveCommit(repo, "refs/heads/main"), head);
  });

  test("a missing remote is retried with backoff, then fails with git's reason", async () => {
    const failures: number[] = [];
    const started = Date.now();
    await assert.rejects(
      fetchWithDeadline(repo, path.join(dir, "gone.git"), ["+refs/heads/main:refs/heads/main"], {
        timeoutMs: 5000,
        onAttemptFailed: ({ attempt }) => failures.push(attempt),
      }),
      (error: Error) =>
        error instanceof FetchError && /does not appear to be a git repository/.test(error.message),
    );
    assert.deepEqual(failures, [1, 2, 3]); // pauses of 1 s and 2 s; a third pause would not fit
    assert.ok(Date.now() - started < 5000);
  });

  test("a remote that never answers is cut at the deadline, and no git is left running", async () => {
    const started = Date.now();
    await assert.rejects(
      fetchWithDeadline(
        repo,
        `git://127.0.0.1:${port}/shop.git`,
        ["+refs/heads/main:refs/heads/main"],
        {
          timeoutMs: 1500,
        },
      ),
      /no answer within 2s/,
    );
    const took = Date.now() - started;
    assert.ok(took >= 1400 && took < 4000, `took ${took} ms`);
    // No git of ours is left: neither the fetch nor a helper it started (they were one group).
    await new Promise((resolve) => setTimeout(resolve, 200));
    const left = (await listProcesses()).filter(
      (p) => p.argv.includes("fetch") && p.argv.some((a) => a.includes(String(port))),
    );
    assert.deepEqual(left, []);
  });
});
