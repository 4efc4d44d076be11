// The agent's own version, from its package.json (`agent --version`, GET /health).
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The module sits at a different depth in dist/src/ (tsc) and dist/agent/chunks/ (the bundle), so
// walk up to the first package.json that is ours.
function findPackage(): { root: string; version: string } | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === "deploy-agent" && typeof pkg.version === "string") {
        return { root: dir, version: pkg.version };
      }
    } catch {
      // no package.json here (or not JSON): keep walking
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

// Where the agent is installed (the directory of its package.json), for the files shipped with
// it (install/agent.example.yaml); undefined if packaged some other way.
export function agentRoot(): string | undefined {
  return findPackage()?.root;
}

// "unknown" if packaged some other way.
export function agentVersion(): string {
  return findPackage()?.version ?? "unknown";
}
