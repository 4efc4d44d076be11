// Auto-update polls are spread out: many hosts on one remote must not fetch in lockstep.

// Share of the period added at random to each poll delay.
export const POLL_JITTER = 0.1;

// The delay before the next poll: the period plus up to 10 % of it, at random.
export function nextPollDelay(periodMs: number, random: () => number = Math.random): number {
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(periodMs + periodMs * POLL_JITTER * r);
}

// The delay before the first poll after the daemon starts: anywhere in the first period, so
// daemons started at one moment spread their polls over the whole period from the start.
export function firstPollDelay(periodMs: number, random: () => number = Math.random): number {
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(periodMs * r);
}
