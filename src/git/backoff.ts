// Retry timing for fetches: exponential backoff that never runs past the fetch deadline.

export interface BackoffPolicy {
  // Delay before the second attempt; doubles for each further one.
  firstDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  // An attempt given less time than this cannot succeed against a real remote: do not start it.
  minAttemptMs: number;
}

export const FETCH_BACKOFF: BackoffPolicy = {
  firstDelayMs: 1000,
  maxDelayMs: 8000,
  maxAttempts: 4,
  minAttemptMs: 1000,
};

// How long to wait before attempt number `next` (2, 3, ...), or undefined when no further
// attempt should be made: too many already, or the deadline leaves no room for a useful one.
export function retryDelay(
  next: number,
  remainingMs: number,
  policy: BackoffPolicy = FETCH_BACKOFF,
): number | undefined {
  if (next < 2 || next > policy.maxAttempts) return undefined;
  const delay = Math.min(policy.firstDelayMs * 2 ** (next - 2), policy.maxDelayMs);
  if (remainingMs - delay < policy.minAttemptMs) return undefined;
  return delay;
}
