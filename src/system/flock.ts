// flock(2) for Node, which has no binding for it: util-linux flock(1) locks a descriptor we lend.
import { CommandError, run } from "./run.js";

// What we ask flock(1) to exit with when another open file holds the lock (EX_TEMPFAIL); its
// default, 1, could not be told apart from a failure.
const CONFLICT_EXIT = 75;

// Take an exclusive flock(2) on our open descriptor without waiting: true when taken, false when
// another open file description holds it. The child gets the descriptor as its fd 3, which shares
// our open file description, and flock(2) locks belong to that description: the lock stays ours
// after the child exits, and the kernel drops it when we close the descriptor or die.
export async function tryLockDescriptor(fd: number): Promise<boolean> {
  const result = await run(
    "flock",
    ["--exclusive", "--nonblock", "--conflict-exit-code", String(CONFLICT_EXIT), "3"],
    { fds: [fd], reject: false, timeoutMs: 10_000 },
  );
  if (result.exitCode === 0 && !result.timedOut) return true;
  if (result.exitCode === CONFLICT_EXIT && !result.timedOut) return false;
  throw new CommandError(result);
}
