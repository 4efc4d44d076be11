// The agent's own version, from its package.json (shown by GET /health).
import { readFileSync } from "node:fs";

// dist/src/daemon/ → the package root is three levels up; "unknown" if packaged differently.
export function agentVersion(): string {
  try {
    const url = new URL("../../../package.json", import.meta.url);
    const pkg = JSON.parse(readFileSync(url, "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}
