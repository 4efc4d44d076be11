// Structured logging: pino JSON lines on stderr, where journald picks them up.
import { pino } from "pino";

export type Logger = pino.Logger;

// At an interactive terminal the human step list is the output, so only warnings are logged
// unless DEPLOY_AGENT_LOG_LEVEL asks for more; under systemd everything from info up goes out.
function defaultLevel(): string {
  if (process.env.DEPLOY_AGENT_LOG_LEVEL) return process.env.DEPLOY_AGENT_LOG_LEVEL;
  return process.stderr.isTTY ? "warn" : "info";
}

export const logger: Logger = pino(
  {
    name: "deploy-agent",
    level: defaultLevel(),
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  pino.destination({ dest: 2, sync: true }),
);
