// The app's object store: a bare repository at <app.dir>/repo, created on first use.
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";

// Create the bare repository if it is missing. It is initialised under a temporary name and
// renamed into place, so a power cut can never leave a half-initialised repo/ that later
// fetches would trip over.
export async function ensureBareRepo(dir: string): Promise<void> {
  if (await isBareRepo(dir)) return;
  // A repo/ without HEAD is debris (e.g. created by hand): start over rather than guess.
  await rm(dir, { recursive: true, force: true });
  const temp = `${dir}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true, mode: 0o755 });
  try {
    // Loaded here, not at the top: the drift check imports isBareRepo on every daemon, and
    // only a sync ever creates a repository.
    const { gitAt } = await import("./client.js");
    await gitAt(temp).init(true);
    await rename(temp, dir);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw new Error(`cannot create bare repository ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

// Whether dir looks like a bare repository (has HEAD and objects/).
export async function isBareRepo(dir: string): Promise<boolean> {
  const head = await stat(path.join(dir, "HEAD")).catch(() => undefined);
  const objects = await stat(path.join(dir, "objects")).catch(() => undefined);
  return !!head?.isFile() && !!objects?.isDirectory();
}
