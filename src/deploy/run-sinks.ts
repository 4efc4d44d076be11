// The sinks every run's events go to: its deployment row, the log, and the watcher the command
// brought (a terminal, the daemon's STATUS=, nobody).
import type { Logger } from "../log.js";
import type { StateDb } from "../state/state-db.js";
import { type EventSink, fanOut } from "./events.js";
import { logSink } from "./log-sink.js";
import { recordSink } from "./record-sink.js";

export function runSinks(db: StateDb, deploymentId: number, log: Logger, watcher: EventSink) {
  return fanOut(recordSink(db, deploymentId), logSink(log), watcher);
}
