// The environment a command the agent starts for an operator (a hook, a custom check) runs
// with: nothing of the agent's own (no NOTIFY_SOCKET, no DEPLOY_AGENT_CONFIG, no credentials a
// unit handed the daemon), only what a login of that user would have, plus what the caller adds.
import type { RunAs } from "./accounts.js";

export const SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function cleanEnvironment(
  user: Pick<RunAs, "name" | "home">,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: "/bin/sh",
    PATH: SAFE_PATH,
    LANG: "C.UTF-8",
    ...extra,
  };
}
