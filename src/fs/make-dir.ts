// A subdirectory of a pinned directory, made when missing with exactly the mode asked for.
import { mkdir } from "node:fs/promises";
import { type PinnedDir, pinChild } from "./pinned-dir.js";

// Open `name` in `parent` as a directory (never through a link), making it first when missing:
// owned by us (root), `mode` set on the new directory itself since mkdir's is cut by the umask,
// and the parent flushed so the new entry survives a power cut. An existing directory is opened
// as it is.
export async function pinOrMakeChild(
  parent: PinnedDir,
  name: string,
  mode: number,
): Promise<PinnedDir> {
  const made = await mkdir(parent.at(name), mode).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
      return false;
    },
  );
  const child = await pinChild(parent, name);
  try {
    if (made) {
      await child.handle.chmod(mode);
      await parent.handle.sync();
    }
    return child;
  } catch (error) {
    await child.close();
    throw error;
  }
}
