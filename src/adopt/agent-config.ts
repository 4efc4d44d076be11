// The app's entry in agent.yaml, as `agent adopt` writes it: merged into the existing file with its
// comments and other apps kept, or replacing the example install.sh put there when nobody has
// edited it yet. The result is validated as any config is before a byte is written.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Document, isMap, parseDocument } from "yaml";
import { agentRoot } from "../agent-version.js";
import { parseConfigText } from "../config/parse.js";

export type ConfigAction = "create" | "replace the untouched example" | "add";

export interface MergedConfig {
  // The file's bytes before (undefined: there was none), to put back if the adoption fails.
  before: string | undefined;
  text: string;
  action: ConfigAction;
}

export class ConfigConflictError extends Error {
  override name = "ConfigConflictError";
}

// The example install.sh copies to /etc/deploy-agent/agent.yaml on a fresh host.
async function installedExample(): Promise<string | undefined> {
  const root = agentRoot();
  if (!root) return undefined;
  return readFile(path.join(root, "install", "agent.example.yaml"), "utf8").catch(() => undefined);
}

// The config file's text with `apps.<name>` added. Throws ConfigConflictError when the app (by
// name, unit or directory) is already configured, and the config loader's ConfigError when the
// file is invalid as it stands or would be with the entry.
export async function mergeAppEntry(
  file: string,
  name: string,
  entry: Record<string, unknown>,
): Promise<MergedConfig> {
  const before = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  const example = await installedExample();
  if (before === undefined || before === example || before.trim() === "") {
    const doc = new Document({ apps: { [name]: entry } });
    doc.commentBefore =
      before === undefined
        ? " deploy-agent configuration, written by `agent adopt`."
        : " deploy-agent configuration, written by `agent adopt` in place of the installed example\n (still in install/agent.example.yaml of the agent's directory).";
    const text = doc.toString({ lineWidth: 0 });
    parseConfigText(file, text);
    return {
      before,
      text,
      action: before === undefined ? "create" : "replace the untouched example",
    };
  }
  // Valid as it stands: an adoption does not paper over a config the agent would refuse.
  const current = parseConfigText(file, before);
  for (const [other, app] of Object.entries(current.apps)) {
    if (other === name) throw new ConfigConflictError(`app "${name}" is already in ${file}`);
    if (app.service === entry.service) {
      throw new ConfigConflictError(`${app.service} is already app "${other}" in ${file}`);
    }
    if (app.dir === entry.dir) {
      throw new ConfigConflictError(
        `${app.dir} is already the directory of app "${other}" in ${file}`,
      );
    }
  }
  const doc = parseDocument(before);
  const apps = doc.get("apps");
  if (!isMap(apps)) throw new ConfigConflictError(`${file} has no apps: map to add "${name}" to`);
  apps.set(name, doc.createNode(entry));
  const text = doc.toString({ lineWidth: 0 });
  parseConfigText(file, text);
  return { before, text, action: "add" };
}

// Refuse at once, before the unit or the checkout is read, an app the config already has.
export async function assertNotConfigured(file: string, name: string): Promise<void> {
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return;
  const apps = parseDocument(text).get("apps");
  if (isMap(apps) && apps.has(name)) {
    throw new ConfigConflictError(`app "${name}" is already in ${file}`);
  }
}
