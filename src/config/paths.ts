// Well-known paths of the agent itself; environment overrides exist for tests and packaging.

export const DEFAULT_CONFIG_PATH = "/etc/deploy-agent/agent.yaml";
export const TOKEN_PATH = process.env.DEPLOY_AGENT_TOKEN_FILE ?? "/etc/deploy-agent/token";
export const STATE_DIR = process.env.DEPLOY_AGENT_STATE_DIR ?? "/var/lib/deploy-agent";
export const RUN_DIR = process.env.DEPLOY_AGENT_RUN_DIR ?? "/run/deploy-agent";

// Which config file to read: --config, then DEPLOY_AGENT_CONFIG, then the default.
export function resolveConfigPath(flag?: string): string {
  return flag ?? process.env.DEPLOY_AGENT_CONFIG ?? DEFAULT_CONFIG_PATH;
}
