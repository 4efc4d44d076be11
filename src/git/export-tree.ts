// Write the files of one commit into a directory, without a worktree or an index.
import { rm } from "node:fs/promises";
import { run } from "../system/run.js";
import { gitAt } from "./client.js";

// `git archive` the commit into a tar beside `destDir`, then unpack it there. The bare repo
// keeps no index or worktree state, so a crash here leaves nothing inside repo/ to repair.
export async function exportTree(repoDir: string, sha: string, destDir: string): Promise<void> {
  const tar = `${destDir}.tar`;
  try {
    await gitAt(repoDir).raw(["archive", "--format=tar", "-o", tar, sha]);
    await run("tar", ["-x", "--no-same-owner", "-f", tar, "-C", destDir]);
  } finally {
    await rm(tar, { force: true });
  }
}
