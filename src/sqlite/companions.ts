// The files SQLite opens beside a database by name (-journal, -wal, -shm): in the app's DB
// directory the app user can put anything there. A FIFO would block the shell opening it (a hot
// journal is looked for at every open), a link would be followed by whoever opens it. Refused
// before the database is opened at all; the runner's progress watchdog is the backstop for a
// swap after this look.
import { describeKind, lstatPath } from "../fs/entry.js";

const SUFFIXES = ["-journal", "-wal", "-shm"];

// Why the DB's companions make it unsafe to open, or undefined when they are absent or plain files.
export async function companionProblem(dbPath: string): Promise<string | undefined> {
  for (const suffix of SUFFIXES) {
    const file = `${dbPath}${suffix}`;
    const found = await lstatPath(file).catch((error: Error) => error);
    if (found instanceof Error) return found.message;
    if (found && !found.isFile()) return `${file} is ${describeKind(found)}: not opened`;
  }
  return undefined;
}
