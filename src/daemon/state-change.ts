// Monit-style alerting: an app's verdict is logged as an event when it changes and on recovery.
import type { CheckStatus } from "../check/types.js";

export interface StateChange {
  from: CheckStatus;
  to: CheckStatus;
  // True when the app got better (e.g. critical → ok): the "recovered" alert.
  recovered: boolean;
}

const RANK: Record<CheckStatus, number> = { ok: 0, warning: 1, unknown: 2, critical: 3 };

// The change between two consecutive verdicts, or undefined when nothing changed. The first
// verdict the daemon ever sees is a change only when it is not ok: a healthy start is no news,
// a broken one is.
export function detectStateChange(
  previous: CheckStatus | undefined,
  current: CheckStatus,
): StateChange | undefined {
  const from = previous ?? "ok";
  if (from === current) return undefined;
  return { from, to: current, recovered: RANK[current] < RANK[from] };
}
