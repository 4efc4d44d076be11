// Fold the exit codes of several apps (`sync --all`) into the one the command returns.
import { ExitCode } from "../errors.js";

// From least to most serious. "Locked" (someone else is on it) matters less than a failed
// deploy; a deploy whose rollback failed is the most serious news; then bugs.
const SEVERITY: number[] = [
  ExitCode.ok,
  ExitCode.lockHeld,
  ExitCode.failedRolledBack,
  ExitCode.rollbackFailed,
  ExitCode.badConfig,
  ExitCode.software,
];

// The worst of the codes; an unknown code counts as worse than all known ones.
export function worstExitCode(codes: number[]): number {
  const rank = (code: number) =>
    SEVERITY.includes(code) ? SEVERITY.indexOf(code) : SEVERITY.length;
  return codes.reduce((worst, code) => (rank(code) > rank(worst) ? code : worst), ExitCode.ok);
}
