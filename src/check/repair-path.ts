// `--fix` for one path: chown/chmod exactly that file, never through a symlink out of the app.
import { constants } from "node:fs";
import { open, readlink, realpath } from "node:fs/promises";
import type { OwnerLookup } from "./owners.js";
import { formatMode, type PathProblems, type PathRule } from "./path-rules.js";
import { isUnder } from "./strays.js";

// Open without following a final symlink and without blocking on a FIFO someone planted.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

// Repair a path's owner and mode as its rule asks; returns one line per change made.
// Root chowning whatever a path resolves to is how a symlink planted in a writable directory
// hands an attacker /etc/shadow, so: resolve the path, accept it only inside the app directory
// (or when no symlink is involved at all), open it with O_NOFOLLOW, confirm through
// /proc/self/fd that the open file is the one resolved (no directory was swapped in between),
// then fchown/fchmod that descriptor.
export async function repairPath(
  rule: PathRule,
  problems: PathProblems,
  want: { uid: number; gid: number },
  appDir: string,
  owners: OwnerLookup,
): Promise<string[]> {
  const real = await realpath(rule.path);
  const root = await realpath(appDir).catch(() => appDir);
  if (real !== rule.path && !isUnder(real, root)) {
    throw new Error(`refused to fix ${rule.path}: it resolves to ${real}, outside ${appDir}`);
  }
  const handle = await open(real, OPEN_FLAGS);
  try {
    const opened = await readlink(`/proc/self/fd/${handle.fd}`);
    if (opened !== real) {
      throw new Error(`refused to fix ${rule.path}: it changed while being fixed (${opened})`);
    }
    const before = await handle.stat();
    if (rule.kind === "dir-writable" && !before.isDirectory()) {
      throw new Error(`refused to fix ${rule.path}: expected a directory`);
    }
    const changes: string[] = [];
    // chown before chmod: chown clears set-id bits, and the mode must be the last word.
    if (problems.owner) {
      const was = await owners.namesOf(before.uid, before.gid);
      await handle.chown(want.uid, want.gid);
      changes.push(`chown ${rule.owner}:${rule.group} ${real} (was ${was})`);
    }
    const mode = problems.mode ?? before.mode & 0o7777;
    if (((await handle.stat()).mode & 0o7777) !== mode) {
      await handle.chmod(mode);
      changes.push(`chmod ${formatMode(mode)} ${real} (was ${formatMode(before.mode)})`);
    }
    return changes;
  } finally {
    await handle.close();
  }
}
