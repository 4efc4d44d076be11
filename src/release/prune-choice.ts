// Which releases to delete: pure, so the rule is tested on its own.
import { RELEASE_NAME } from "./layout.js";

// Release names sort in deploy order (UTC stamp first). Keep the newest `keep`, and always the
// live one and the one before it (the rollback target), wherever they fall in that order.
export function chooseReleasesToPrune(
  names: string[],
  live: string | undefined,
  keep: number,
): string[] {
  const releases = names.filter((n) => RELEASE_NAME.test(n)).sort();
  const kept = new Set(releases.slice(Math.max(0, releases.length - keep)));
  if (live !== undefined) {
    kept.add(live);
    const before = releases.filter((n) => n < live).pop();
    if (before) kept.add(before);
  }
  return releases.filter((n) => !kept.has(n));
}

// The release before `name` in deploy order: what `agent rollback` goes back to by default.
export function releaseBefore(names: string[], name: string): string | undefined {
  return names
    .filter((n) => RELEASE_NAME.test(n) && n < name)
    .sort()
    .pop();
}
