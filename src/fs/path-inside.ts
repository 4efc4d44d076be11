// Whether one path lies inside a directory, judged on the text of the paths alone.
import path from "node:path";

// True when `candidate` is strictly below `dir` (not `dir` itself); neither path is resolved
// against the filesystem, so symlinks are the caller's concern.
export function isInside(dir: string, candidate: string): boolean {
  const rel = path.relative(dir, candidate);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}
