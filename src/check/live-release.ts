// The live release as the checks of one run see it: read once however many checks ask (health and
// drift both need it), like the unit's state (see unit-state.ts).
import { type LiveRelease, readLiveRelease } from "../release/layout.js";
import type { CheckContext } from "./types.js";

// Keyed weakly by the run's context: it lives exactly as long as that run.
const perRun = new WeakMap<CheckContext, Promise<LiveRelease | undefined>>();

// The live release for this check run.
export function liveReleaseOf(ctx: CheckContext): Promise<LiveRelease | undefined> {
  if (ctx.expected) return Promise.resolve(ctx.expected);
  let pending = perRun.get(ctx);
  if (!pending) {
    pending = readLiveRelease(ctx.layout);
    perRun.set(ctx, pending);
  }
  return pending;
}
