// `agent restore [APP] [BACKUP]`: stop, put a DB backup back, start, verify.
import { loadConfig, selectApp } from "../config/load.js";
import { catchingSignals, sayOnStderr } from "../deploy/interruption.js";
import { terminalSink } from "../deploy/terminal.js";
import { restoreApp } from "../rollback/restore-app.js";

export interface RestoreOptions {
  config?: string;
  app?: string;
  backup?: string;
}

export async function restoreCommand(options: RestoreOptions): Promise<number> {
  const app = selectApp(await loadConfig(options.config), options.app);
  const result = await catchingSignals(
    (interruption) =>
      restoreApp(app, { backup: options.backup, watcher: terminalSink(), interruption }),
    sayOnStderr("restore"),
  );
  return result.code;
}
