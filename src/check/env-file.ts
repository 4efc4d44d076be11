// Check "env_file": the app's environment file exists, is a regular file (never a symlink: the app
// user owns its directory and could point it at any file root can read), is readable by no one
// but its owner and group, and every required key has a non-empty value. No value is ever put
// in a summary, a detail, the log or the state DB: only the names of the missing or empty keys.
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { openEntry } from "../fs/entry.js";
import { withPinnedDir } from "../fs/pinned-dir.js";
import { printable } from "../output/sanitize.js";
import { envKeys, missingKeys } from "./dotenv.js";
import type { Check, CheckOutcome } from "./types.js";

type EnvFileConfig = NonNullable<AppConfig["env_file"]>;

// More than this is not an environment file (and the app user decides the size).
const MAX_BYTES = 256 * 1024;

export const envFileCheck: Check = {
  name: "env_file",
  async run(ctx) {
    const config = ctx.app.env_file;
    if (!config) return { status: "ok", summary: "not configured", details: {} };
    return inspectEnvFile(config);
  },
};

export async function inspectEnvFile(config: EnvFileConfig): Promise<CheckOutcome> {
  const details: Record<string, unknown> = { path: config.path, required: config.required };
  let read: { mode: number; bytes: Buffer };
  try {
    read = await withPinnedDir(path.dirname(config.path), async (dir) => {
      const { handle, stats } = await openEntry(dir, path.basename(config.path), "file");
      try {
        const bytes = Buffer.alloc(MAX_BYTES + 1);
        let filled = 0;
        while (filled < bytes.length) {
          const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, null);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return { mode: stats.mode & 0o777, bytes: bytes.subarray(0, filled) };
      } finally {
        await handle.close();
      }
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? `${config.path}: missing` : (error as Error).message;
    return { status: "critical", summary: printable(why), details };
  }
  const mode = read.mode.toString(8).padStart(3, "0");
  details.mode = mode;
  if (read.mode & 0o004) {
    return {
      status: "critical",
      summary: `${config.path} is readable by others (mode ${mode}): chmod o-r`,
      details,
    };
  }
  if (read.bytes.length > MAX_BYTES) {
    read.bytes.fill(0);
    return {
      status: "critical",
      summary: `${config.path} is larger than ${MAX_BYTES / 1024} KiB: not an environment file`,
      details,
    };
  }
  const keys = envKeys(read.bytes.toString("utf8"));
  read.bytes.fill(0);
  const { missing, empty } = missingKeys(keys, config.required);
  Object.assign(details, { keys: keys.size, missing, empty });
  const problems = [
    missing.length > 0 ? `missing ${missing.join(", ")}` : "",
    empty.length > 0 ? `empty ${empty.join(", ")}` : "",
  ].filter(Boolean);
  if (problems.length > 0) {
    return { status: "critical", summary: `${config.path}: ${problems.join("; ")}`, details };
  }
  const set = config.required.length;
  return {
    status: "ok",
    summary: `mode ${mode}, ${set} required key${set === 1 ? "" : "s"} set (${keys.size} in all)`,
    details,
  };
}
