// Owner and mode of an opened entry, changed through its descriptor (fchown/fchmod), never by
// path: the name may point elsewhere by the time a path-based call would resolve it.
import type { OpenedEntry } from "./entry.js";

export interface Ownership {
  uid: number;
  gid: number;
  // Permission bits to set; undefined leaves the mode as it is.
  mode?: number;
}

export interface OwnershipChange {
  owner?: { uid: number; gid: number };
  mode?: number;
}

// Set owner, then mode (chown clears set-id bits, so the mode must be the last word); returns
// what was there before each change that was needed.
export async function applyOwnership(
  entry: OpenedEntry,
  want: Ownership,
): Promise<OwnershipChange> {
  const before = entry.stats;
  const changed: OwnershipChange = {};
  if (before.uid !== want.uid || before.gid !== want.gid) {
    await entry.handle.chown(want.uid, want.gid);
    changed.owner = { uid: before.uid, gid: before.gid };
  }
  if (want.mode !== undefined) {
    const now = (await entry.handle.stat()).mode & 0o7777;
    if (now !== want.mode) {
      await entry.handle.chmod(want.mode);
      changed.mode = before.mode & 0o7777;
    }
  }
  return changed;
}
