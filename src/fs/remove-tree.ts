// Remove a directory tree that the app user may still be changing (a release it owns, a staging
// directory), without ever being steered out of it.
import { run } from "../system/run.js";
import { lstatInDir } from "./entry.js";
import { assertName, type PinnedDir } from "./pinned-dir.js";

// `rm -rf` of `name` inside the pinned `dir`. The directory reaches rm as an inherited
// descriptor (/proc/self/fd/3/NAME), so nothing above it can be swapped in between; below it,
// GNU rm walks with openat(2) and O_NOFOLLOW and checks each directory it enters is the one it
// listed, so a subdirectory replaced by a symlink mid-walk is unlinked, never followed (a
// path-based recursive delete in Node would follow it). --one-file-system keeps it off mounts.
export async function removeTree(
  dir: PinnedDir,
  name: string,
  timeoutMs = 10 * 60_000,
): Promise<void> {
  assertName(name);
  // Nothing there (the usual case for a staging leftover): no rm to start. Should the entry
  // appear after this look, it is no more there than it would have been a moment later.
  if (lstatInDir(dir.handle.fd, name) === undefined) return;
  await run("rm", ["-rf", "--one-file-system", "--", `/proc/self/fd/3/${name}`], {
    fds: [dir.handle.fd],
    timeoutMs,
  });
}
