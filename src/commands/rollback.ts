// `agent rollback [APP] [--to RELEASE]`: back to the previous (or named) release.
import { loadConfig, selectApp } from "../config/load.js";
import { catchingSignals, sayOnStderr } from "../deploy/interruption.js";
import { terminalSink } from "../deploy/terminal.js";
import { rollbackApp } from "../rollback/rollback-app.js";

export interface RollbackOptions {
  config?: string;
  app?: string;
  to?: string;
}

export async function rollbackCommand(options: RollbackOptions): Promise<number> {
  const app = selectApp(await loadConfig(options.config), options.app);
  const result = await catchingSignals(
    (interruption) => rollbackApp(app, { to: options.to, watcher: terminalSink(), interruption }),
    sayOnStderr("rollback"),
  );
  return result.code;
}
