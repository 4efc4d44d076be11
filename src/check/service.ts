// Check "service": the app's unit is active, not failed, not restarting in a loop.
import { logger } from "../log.js";
import { recall, remember } from "../state/app-memory.js";
import { openStateDb } from "../state/state-db.js";
import type { Check, CheckOutcome } from "./types.js";
import { type UnitState, unitStateOf } from "./unit-state.js";

// Restarts between two checks that mean a loop rather than one crash that systemd recovered.
export const RESTART_LOOP = 3;

const MEMORY_KEY = "service.nrestarts";

export const serviceCheck: Check = {
  name: "service",
  async run(ctx) {
    const state = await unitStateOf(ctx);
    const previous = swapRememberedRestarts(ctx.app.name, state.unit, state.nRestarts);
    return evaluateService(state, previous);
  },
};

// Judge a unit state; `previousRestarts` is the NRestarts the previous check saw, if known.
export function evaluateService(state: UnitState, previousRestarts?: number): CheckOutcome {
  const { unit, activeState, subState } = state;
  const details = {
    unit,
    loadState: state.loadState,
    activeState,
    subState,
    result: state.result,
    mainPid: state.mainPid,
    nRestarts: state.nRestarts ?? null,
    previousRestarts: previousRestarts ?? null,
    activeSince: state.activeSince || null,
  };
  if (state.loadState !== "loaded") {
    return { status: "critical", summary: `${unit} is ${state.loadState || "unknown"}`, details };
  }
  if (activeState === "failed") {
    return { status: "critical", summary: `${unit} failed (${state.result})`, details };
  }
  if (activeState === "activating" && subState === "auto-restart") {
    return {
      status: "critical",
      summary: `${unit} is restart-looping (waiting to restart, result ${state.result}, ${state.nRestarts ?? "?"} restarts)`,
      details,
    };
  }
  if (activeState !== "active" && activeState !== "reloading") {
    const status = activeState === "activating" ? "warning" : "critical";
    return { status, summary: `${unit} is ${activeState} (${subState})`, details };
  }
  const grew = restartsSince(previousRestarts, state.nRestarts);
  if (grew > 0) {
    return {
      status: grew >= RESTART_LOOP ? "critical" : "warning",
      summary: `${unit} restarted ${grew} time${grew === 1 ? "" : "s"} since the previous check${grew >= RESTART_LOOP ? " (restart loop)" : ""}`,
      details,
    };
  }
  const since = state.activeSince ? ` since ${state.activeSince}` : "";
  return { status: "ok", summary: `${activeState} (${subState})${since}`, details };
}

// Automatic restarts since the previous check. systemd zeroes NRestarts when the unit is
// started by hand, so a smaller number than before means a manual restart, not growth.
export function restartsSince(previous: number | undefined, current: number | undefined): number {
  if (previous === undefined || current === undefined || current < previous) return 0;
  return current - previous;
}

// Where a unit's NRestarts is remembered. The counter is the unit's own: an app with one unit keeps
// the key it always had; each instance (a blue-green app's colors, shop@blue.service) has its own,
// so a switch to the other color never reads as restarts.
export function restartsMemoryKey(unit: string): string {
  return unit.includes("@") ? `${MEMORY_KEY}:${unit}` : MEMORY_KEY;
}

// Remember this check's NRestarts and return the previous one. Best-effort: without a state DB
// (not root, read-only disk) the check still judges everything else.
function swapRememberedRestarts(
  app: string,
  unit: string,
  current: number | undefined,
): number | undefined {
  if (current === undefined) return undefined;
  const key = restartsMemoryKey(unit);
  try {
    const db = openStateDb();
    try {
      const previous = recall(db, app, key);
      // Unchanged is the common case: skip the write and its fsync (the state DB is FULL sync).
      if (previous !== String(current)) remember(db, app, key, String(current));
      return previous === undefined ? undefined : Number(previous);
    } finally {
      db.close();
    }
  } catch (error) {
    logger.debug({ app, err: error }, "state DB unavailable: restart growth not tracked");
    return undefined;
  }
}
