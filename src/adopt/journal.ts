// An adoption cut short (power cut, kill -9) while the checkout is aside leaves a host nothing else
// knows how to repair: the unit's directory is gone or is the agent's half-made layout, and the
// config may or may not name the app. For that whole time a journal in the agent's state directory
// says what was moved and written; the next `agent adopt` and the boot sync's ExecStartPre
// (`agent adopt --recover`) finish it:
// - the config on disk is the one the adoption wrote and the adoption had not failed: it went
//   through (the boot sync deploys the app): the journal is simply removed;
// - otherwise the host is put back: the drop-ins and the config as they were, the checkout in its
//   place. The layout is removed when the app never ran on it, and kept aside
//   (<dir>.failed-adopt-<stamp>) when it did: it may hold the only copy of what the app wrote.
import { lstat, readdir, readFile, rename, rm, rmdir } from "node:fs/promises";
import path from "node:path";
import { STATE_DIR } from "../config/paths.js";
import { fsyncDir, writeDurably } from "../fs/durable.js";
import { withPinnedDir } from "../fs/pinned-dir.js";
import { removeTree } from "../fs/remove-tree.js";
import { releaseName } from "../release/layout.js";
import { run } from "../system/run.js";

export interface AdoptJournal {
  service: string;
  dir: string;
  aside: string;
  wasActive: boolean;
  // Unit drop-ins the adoption writes, with their bytes before (null: there was none).
  files: { path: string; before: string | null }[];
  // agent.yaml before (null: none) and as the adoption writes it.
  config: { file: string; before: string | null; after: string; mode: number };
  // The layout the adoption made (its inode), so only that directory is ever removed.
  layout?: { dev: number; ino: number };
  // Set once the adoption failed after the app may have run on the new layout.
  ranOnLayout?: boolean;
}

const JOURNAL_DIR = path.join(STATE_DIR, "adopt");
const NAME = /^[A-Za-z0-9_-]+\.json$/;

function journalPath(name: string): string {
  return path.join(JOURNAL_DIR, `${name}.json`);
}

export async function writeJournal(name: string, journal: AdoptJournal): Promise<void> {
  await writeDurably(journalPath(name), `${JSON.stringify(journal)}\n`, 0o600);
}

export async function removeJournal(name: string): Promise<void> {
  await rm(journalPath(name), { force: true });
  await fsyncDir(JOURNAL_DIR).catch(() => undefined);
}

// Finish every adoption a cut interrupted; one line per adoption. The caller holds the adoption
// lock, so no adoption is under way meanwhile. One that cannot be finished is reported and left
// for a person, with its app started again; the others are still handled.
export async function recoverAdoptions(): Promise<string[]> {
  const names = await readdir(JOURNAL_DIR).catch(() => [] as string[]);
  const done: string[] = [];
  for (const file of names.filter((n) => NAME.test(n))) {
    const name = file.slice(0, -".json".length);
    let journal: AdoptJournal;
    try {
      journal = JSON.parse(await readFile(journalPath(name), "utf8")) as AdoptJournal;
    } catch (error) {
      done.push(`${name}: unreadable journal ${journalPath(name)}: ${(error as Error).message}`);
      continue;
    }
    try {
      done.push(await finishAdoption(journal));
      await removeJournal(name);
    } catch (error) {
      if (journal.wasActive) {
        await run("systemctl", ["start", "--", journal.service], {
          reject: false,
          timeoutMs: 120_000,
        });
      }
      done.push(
        `${journal.service}: an adoption cut short could not be put back (${(error as Error).message}); see ${journalPath(name)}`,
      );
    }
  }
  return done;
}

// Each step looks at the host first, so running it twice (a cut during the recovery) is safe.
async function finishAdoption(journal: AdoptJournal): Promise<string> {
  const config = await readFile(journal.config.file, "utf8").catch(() => null);
  if (config === journal.config.after && !journal.ranOnLayout) {
    return `${journal.service}: an adoption cut short had written its config: the boot sync deploys it`;
  }
  const aside = await lstat(journal.aside).catch(() => undefined);
  const layout = await lstat(journal.dir).catch(() => undefined);
  if (aside?.isDirectory() && layout) {
    const ours =
      layout.isDirectory() &&
      layout.uid === 0 &&
      (!journal.layout || (layout.dev === journal.layout.dev && layout.ino === journal.layout.ino));
    if (!ours) throw new Error(`${journal.dir} is not the layout the adoption made`);
  }
  await run("systemctl", ["stop", "--", journal.service], { reject: false, timeoutMs: 120_000 });
  for (const file of journal.files) {
    if (file.before === null) {
      await rm(file.path, { force: true });
      const dir = path.dirname(file.path);
      if ((await readdir(dir).catch(() => ["?"])).length === 0) await rmdir(dir);
    } else {
      await writeDurably(file.path, file.before);
    }
  }
  if (config === journal.config.after) {
    if (journal.config.before === null) await rm(journal.config.file, { force: true });
    else await writeDurably(journal.config.file, journal.config.before, journal.config.mode);
  }
  let kept = "";
  if (aside?.isDirectory()) {
    if (layout && journal.ranOnLayout) {
      kept = `${journal.dir}.failed-adopt-${releaseName("0".repeat(40)).split("-")[0]}`;
      await rename(journal.dir, kept);
    } else if (layout) {
      await withPinnedDir(path.dirname(journal.dir), (parent) =>
        removeTree(parent, path.basename(journal.dir)),
      );
    }
    await rename(journal.aside, journal.dir);
    await fsyncDir(path.dirname(journal.dir));
  }
  await run("systemctl", ["daemon-reload"], { timeoutMs: 120_000 });
  if (journal.wasActive) {
    await run("systemctl", ["start", "--", journal.service], { reject: false, timeoutMs: 120_000 });
  }
  return `${journal.service}: an adoption cut short was undone; ${journal.dir} is the checkout again${kept ? ` (the layout the app ran on is kept as ${kept})` : ""}`;
}
