// Write the files of one commit into a directory, as the app user: the commit's contents (its
// symlinks, its odd names, its .gitattributes) decide what is written where, so whatever does the
// writing must have no more rights than the app user, never root's.
import type { RunAs } from "../system/accounts.js";
import { run } from "../system/run.js";

// A tree of any size unpacks well within this; a hung filesystem does not hold the sync for ever.
const EXPORT_TIMEOUT_MS = 10 * 60_000;

// `git archive` the commit and unpack it into `destDir` (which the user can write), in one pipe.
// The repository is root's and only read; --git-dir names it, so git does not go looking for
// one (and does not apply its ownership check meant for discovered repositories).
export async function exportTree(
  repoDir: string,
  sha: string,
  destDir: string,
  as: RunAs,
  // Only these paths of the commit (each must exist in it); the whole tree when absent.
  paths: string[] = [],
): Promise<void> {
  const script =
    'set -o pipefail; r=$1 c=$2 d=$3; shift 3; git --git-dir="$r" archive --format=tar "$c" -- "$@" | tar -x --no-same-owner -f - -C "$d"';
  await run("bash", ["-c", script, "export-tree", repoDir, sha, destDir, ...paths], {
    uid: as.uid,
    gid: as.gid,
    cwd: "/",
    cleanEnv: true,
    env: {
      PATH: "/usr/bin:/bin",
      HOME: as.home,
      LANG: "C",
      GIT_TERMINAL_PROMPT: "0",
    },
    timeoutMs: EXPORT_TIMEOUT_MS,
    // The app user can SIGSTOP its own processes: a frozen unpack must not hold the build.
    stallLimitMs: 30_000,
  });
}
