// `--fix` for one path: chown/chmod exactly the file or directory the configuration names, through
// a descriptor opened without following a link (src/fs/entry.ts); anything else is refused.
import { openPath } from "../fs/entry.js";
import type { OwnerLookup } from "./owners.js";
import { formatMode, type PathProblems, type PathRule } from "./path-rules.js";
import { isUnder } from "./strays.js";

// Repair a path's owner and mode as its rule asks; returns one line per change made. The path
// is opened with its directory pinned and O_NOFOLLOW, and must be of the kind the rule expects (a
// regular file with one name, or a directory): a symlink the app user planted there, even one
// pointing inside the app directory (at repo/config, say), is refused, never followed.
export async function repairPath(
  rule: PathRule,
  problems: PathProblems,
  want: { uid: number; gid: number },
  owners: OwnerLookup,
  appDir: string,
): Promise<string[]> {
  const entry = await openPath(rule.path, rule.kind === "dir-writable" ? "dir" : "file");
  try {
    const before = entry.stats;
    // A directory of root's outside the app directory (the DB in /var/lib/shop.db would make that
    // /var/lib) is never handed to the app user by --fix: whoever owns a directory can rename
    // what is in it. Inside the app directory (shared/, say) the configuration rules out the
    // agent's own directories.
    if (
      problems.owner &&
      before.isDirectory() &&
      before.uid === 0 &&
      want.uid !== 0 &&
      !isUnder(rule.path, appDir)
    ) {
      throw new Error(
        `${rule.path} is root's and outside ${appDir}: --fix does not give it to ${rule.owner} (chown it yourself if that is meant)`,
      );
    }
    const changes: string[] = [];
    // chown before chmod: chown clears set-id bits, and the mode must be the last word.
    if (problems.owner) {
      const was = await owners.namesOf(before.uid, before.gid);
      await entry.handle.chown(want.uid, want.gid);
      changes.push(`chown ${rule.owner}:${rule.group} ${rule.path} (was ${was})`);
    }
    const mode = problems.mode ?? before.mode & 0o7777;
    if (((await entry.handle.stat()).mode & 0o7777) !== mode) {
      await entry.handle.chmod(mode);
      changes.push(`chmod ${formatMode(mode)} ${rule.path} (was ${formatMode(before.mode)})`);
    }
    return changes;
  } finally {
    await entry.close();
  }
}
