// Notification targets as the config names them, resolved for sending: the URL read from
// url_file (a root-only file: a Slack webhook URL is a secret), a key that names the target in
// the state DB without its URL, and a label for messages that never shows the URL either.
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import type { Config, NotifyEventName, NotifyTargetConfig } from "../config/schema.js";
import type { ConfigProblem } from "../errors.js";

export interface NotifyTarget {
  // "notify.0", or the target's name: what logs, errors and `agent notify test` show.
  label: string;
  name?: string;
  // sha256 of the URL, cut: the queue's rows say which target they are for without the secret.
  key: string;
  url: string;
  format: NotifyTargetConfig["format"];
  events: ReadonlySet<NotifyEventName>;
  // undefined: every app.
  apps?: ReadonlySet<string>;
  remindMs?: number;
}

// The biggest url_file read: a URL, a newline.
const MAX_URL_FILE = 4096;

// Resolve every target; problems name the key (notify.N.url_file) and never the URL.
export async function resolveTargets(
  config: Pick<Config, "notify">,
): Promise<{ targets: NotifyTarget[]; problems: ConfigProblem[] }> {
  const targets: NotifyTarget[] = [];
  const problems: ConfigProblem[] = [];
  for (const [i, target] of config.notify.entries()) {
    let url = target.url;
    if (target.url_file !== undefined) {
      const read = await readUrlFile(target.url_file);
      if ("problem" in read) {
        problems.push({ path: `notify.${i}.url_file`, message: read.problem });
        continue;
      }
      url = read.url;
    }
    if (url === undefined) continue; // the schema refused it already
    targets.push({
      label: target.name ?? `notify.${i}`,
      name: target.name,
      key: targetKey(url),
      url,
      format: target.format,
      events: new Set(target.events),
      apps: target.apps ? new Set(target.apps) : undefined,
      remindMs: target.remind,
    });
  }
  return { targets, problems };
}

export function targetKey(url: string): string {
  return createHash("sha256").update(url).digest("hex").slice(0, 16);
}

// Whether the target wants this event of this app.
export function wants(target: NotifyTarget, event: NotifyEventName, app: string): boolean {
  return target.events.has(event) && (target.apps === undefined || target.apps.has(app));
}

// The URL in a url_file: a regular file, readable by no one but its owner and group, holding one
// http(s) URL. The problem never quotes the file's content.
async function readUrlFile(file: string): Promise<{ url: string } | { problem: string }> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // O_NONBLOCK: a FIFO put there must not hang every command that loads the config.
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { problem: `${file}: ${code === "ENOENT" ? "missing" : `cannot read (${code})`}` };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { problem: `${file}: not a regular file` };
    const uid = process.getuid?.();
    if (uid !== undefined && stat.uid !== 0 && stat.uid !== uid) {
      return { problem: `${file}: owned by uid ${stat.uid}, expected root` };
    }
    if ((stat.mode & 0o007) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(3, "0");
      return { problem: `${file}: mode ${mode} lets others at a secret URL; chmod o-rwx` };
    }
    const buffer = Buffer.alloc(MAX_URL_FILE + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_URL_FILE) return { problem: `${file}: bigger than a URL` };
    const url = buffer.subarray(0, bytesRead).toString("utf8").trim();
    if (!isHttpUrl(url)) return { problem: `${file}: expected one http:// or https:// URL` };
    return { url };
  } finally {
    await handle.close();
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && !/\s/.test(text);
  } catch {
    return false;
  }
}
