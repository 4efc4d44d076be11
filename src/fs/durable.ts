// Writes that survive a power cut: file data and the directory entry both flushed.
import { mkdir, open, rename } from "node:fs/promises";
import path from "node:path";
import { run } from "../system/run.js";

// fsync a directory so a rename or unlink in it survives a power cut.
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// Write a small file atomically and durably: temp, fsync, rename, fsync the directory. Only for
// directories that are root's alone (the agent's state, /etc): the names here are predictable.
export async function writeDurably(file: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  const temp = `${file}.tmp-${process.pid}`;
  const handle = await open(temp, "w", mode);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  await fsyncDir(path.dirname(file));
}

// syncfs(2) on the filesystem holding dir: one call flushes every file a build wrote, however
// many, where an fsync of each would cost a round trip per file.
export async function flushFileSystem(dir: string): Promise<void> {
  await run("sync", ["-f", dir]);
}
