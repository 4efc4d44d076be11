// Which releases to delete: pure, so the rule is tested on its own.
import { compareReleases, releasesInOrder } from "./layout.js";

// Releases in deploy order (UTC stamp first, whichever form the name has). Keep the newest
// `keep`, and always the live one and the one before it (the rollback target), wherever they
// fall in that order.
export function chooseReleasesToPrune(
  names: string[],
  live: string | undefined,
  keep: number,
): string[] {
  const releases = releasesInOrder(names);
  const kept = new Set(releases.slice(Math.max(0, releases.length - keep)));
  if (live !== undefined) {
    kept.add(live);
    const before = releaseBefore(releases, live);
    if (before) kept.add(before);
  }
  return releases.filter((n) => !kept.has(n));
}

// The release before `name` in deploy order: what `agent rollback` goes back to by default.
export function releaseBefore(names: string[], name: string): string | undefined {
  return releasesInOrder(names)
    .filter((n) => compareReleases(n, name) < 0)
    .pop();
}
