// sd_notify(3) for Type=notify: READY, STOPPING, STATUS and watchdog pings to systemd.
import { createRequire } from "node:module";
import { logger } from "../log.js";

// The part of the sd-notify native module we use (it ships no types).
interface SdNotifyModule {
  ready(): void;
  stopping(pid: number): void;
  watchdog(): void;
  sendStatus(text: string): void;
}

export interface Notifier {
  ready(): void;
  stopping(): void;
  status(text: string): void;
  // Start pinging WATCHDOG=1 at half the interval systemd asked for; a no-op without one.
  startWatchdog(): number | undefined;
  stopWatchdog(): void;
}

// Talk to systemd when it gave us a notify socket; otherwise (a shell, a test) do nothing,
// and do not even load the native module.
export function createNotifier(env: NodeJS.ProcessEnv = process.env): Notifier {
  const native = env.NOTIFY_SOCKET ? loadNative() : undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastStatus = "";
  return {
    ready: () => native?.ready(),
    stopping: () => native?.stopping(process.pid),
    status: (text) => {
      // systemd keeps the last STATUS; resending the same text is noise on the bus.
      if (text === lastStatus) return;
      lastStatus = text;
      native?.sendStatus(text);
    },
    startWatchdog: () => {
      const ms = watchdogIntervalMs(env, process.pid);
      if (!native || ms === undefined || timer) return ms;
      // The ping comes from the event loop itself: a wedged loop (or kill -STOP) stops it,
      // and that is exactly what the watchdog is there to catch.
      timer = setInterval(() => native.watchdog(), Math.max(500, Math.floor(ms / 2)));
      native.watchdog();
      return ms;
    },
    stopWatchdog: () => {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

// WatchdogSec as systemd passes it (WATCHDOG_USEC, for WATCHDOG_PID if set), in milliseconds.
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.floor(usec / 1000);
}

// The native module is CommonJS and optional at runtime: if it cannot load (no libsystemd),
// the daemon still runs, only without telling systemd.
function loadNative(): SdNotifyModule | undefined {
  try {
    return createRequire(import.meta.url)("sd-notify") as SdNotifyModule;
  } catch (error) {
    logger.error({ err: error }, "cannot load sd-notify: systemd will not hear READY or watchdog");
    return undefined;
  }
}
