// `agent notify test [TARGET]`: send a test message to one target (by name, or notify.N) or to
// every one, at once and not through the queue, and print what each receiver answered.

import { hostname } from "node:os";
import { loadConfig } from "../config/load.js";
import { UsageError } from "../errors.js";
import type { NotifyEvent } from "../notify/event.js";
import { payload } from "../notify/payload.js";
import { postJson } from "../notify/post.js";
import { printable } from "../output/sanitize.js";

export interface NotifyTestOptions {
  config?: string;
  target?: string;
}

// 0 when every receiver took it (2xx), 1 otherwise; 64 for an unknown target or none configured.
export async function notifyTestCommand(options: NotifyTestOptions): Promise<number> {
  const loaded = await loadConfig(options.config);
  const targets = loaded.notify.filter(
    (t) => options.target === undefined || t.label === options.target,
  );
  if (loaded.notify.length === 0) {
    throw new UsageError(`${loaded.file} configures no notify targets`);
  }
  if (targets.length === 0) {
    const known = loaded.notify.map((t) => t.label).join(", ");
    throw new UsageError(`no notify target "${options.target}" (configured: ${known})`);
  }
  let failed = 0;
  for (const target of targets) {
    const event: NotifyEvent = {
      event: "test",
      app: loaded.apps.map((a) => a.name).join(", "),
      host: hostname(),
      revision: null,
      status: "ok",
      message: `test notification from deploy-agent on ${hostname()} (${target.label})`,
      at: new Date().toISOString(),
    };
    const answer = await postJson(target.url, payload(target.format, event));
    if (!answer.ok) failed++;
    const said = answer.status === null ? (answer.error ?? "no answer") : `HTTP ${answer.status}`;
    const body = printable(answer.body.trim(), 200);
    process.stdout.write(
      `${target.label} (${target.format}): ${said} in ${answer.ms} ms${body ? `: ${body}` : ""}\n`,
    );
  }
  return failed === 0 ? 0 : 1;
}
