// Whether a poll that saw the branch head at `head` should start a sync.

export interface PollFacts {
  head: string;
  // REVISION of the live release, if there is one.
  live?: string;
  // The head the daemon last acted on (deployed, or tried and failed).
  handled?: string;
  // A head whose sync failed: not retried until the branch moves on.
  failed?: string;
}

export type PollDecision =
  | { sync: true; reason: "head moved" | "nothing live" }
  | { sync: false; reason: "up to date" | "failed before" | "already handled" };

// A sync runs when the head moved since the daemon last acted on it. Comparing with the head we
// acted on (not only the live revision) keeps an operator's `agent rollback` in place until
// someone pushes again, and a commit that failed is never retried until the branch moves.
export function decidePoll(facts: PollFacts): PollDecision {
  if (facts.head === facts.failed) return { sync: false, reason: "failed before" };
  if (facts.live === undefined) return { sync: true, reason: "nothing live" };
  if (facts.head === facts.live) return { sync: false, reason: "up to date" };
  // Nothing handled yet (first poll ever): the live release is the baseline.
  if (facts.head === (facts.handled || facts.live))
    return { sync: false, reason: "already handled" };
  return { sync: true, reason: "head moved" };
}
