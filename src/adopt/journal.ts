// An adoption cut short (power cut, kill -9) between moving the checkout aside and writing the
// app's config entry leaves a host nothing else knows how to repair: the unit's directory is gone
// or empty, and no config names the app. For exactly that window a journal in the agent's state
// directory says what was moved and written; the next `agent adopt` and the boot sync
// (`agent sync --boot`) put it all back. Once the config entry is on disk the app is the agent's
// (the boot sync deploys it), and the journal is removed.
//
// The app never ran on the new layout inside this window, so removing it loses no write.
import { lstat, readdir, readFile, rename, rm, rmdir } from "node:fs/promises";
import path from "node:path";
import { STATE_DIR } from "../config/paths.js";
import { fsyncDir, writeDurably } from "../fs/durable.js";
import { withPinnedDir } from "../fs/pinned-dir.js";
import { removeTree } from "../fs/remove-tree.js";
import { run } from "../system/run.js";

export interface AdoptJournal {
  service: string;
  dir: string;
  aside: string;
  wasActive: boolean;
  // Unit drop-ins the adoption writes, with their bytes before (null: there was none).
  files: { path: string; before: string | null }[];
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

// Put back every adoption a cut interrupted; returns what was done, one line per adoption.
export async function recoverAdoptions(): Promise<string[]> {
  const names = await readdir(JOURNAL_DIR).catch(() => [] as string[]);
  const done: string[] = [];
  for (const file of names.filter((n) => NAME.test(n))) {
    const name = file.slice(0, -".json".length);
    const journal = JSON.parse(await readFile(journalPath(name), "utf8")) as AdoptJournal;
    await undoAdoption(journal);
    await removeJournal(name);
    done.push(
      `${journal.service}: an adoption cut short was undone; ${journal.dir} is the checkout again`,
    );
  }
  return done;
}

// Each step looks at the host first, so running it twice (a cut during the recovery) is safe.
async function undoAdoption(journal: AdoptJournal): Promise<void> {
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
  const aside = await lstat(journal.aside).catch(() => undefined);
  if (aside?.isDirectory()) {
    // The new layout is root's (made by the adoption); only then is it removed.
    const layout = await lstat(journal.dir).catch(() => undefined);
    if (layout && !(layout.isDirectory() && layout.uid === 0)) {
      throw new Error(`${journal.dir} is not the layout the adoption made: left for a person`);
    }
    if (layout) {
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
}
