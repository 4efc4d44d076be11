// What the launcher tells the bundle about the caches of this run: the bundle's SHA-256 (which
// the launcher computed anyway, for the code cache's key) and root's trusted cache directory for
// the config the bundle validates (src/config/remembered.ts). The launcher and the bundle are two
// separate esbuild outputs run in one realm, so a registered symbol on globalThis is the one
// shared place. Unset (tests, the daemon, DEPLOY_AGENT_CODE_CACHE=off, a run not as root): the
// bundle remembers nothing and validates as usual.
export interface StartCaches {
  bundleSha256: string;
  // An absolute path of root's (0700) where remembered configs are kept; not yet checked.
  configDir: string;
}

const KEY = Symbol.for("deploy-agent.start-caches");

export function setStartCaches(caches: StartCaches): void {
  (globalThis as Record<symbol, unknown>)[KEY] = Object.freeze({ ...caches });
}

export function startCaches(): StartCaches | undefined {
  return (globalThis as Record<symbol, unknown>)[KEY] as StartCaches | undefined;
}
