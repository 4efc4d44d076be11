// Placeholder until the restore command lands; the CLI table already routes to it.
import { UsageError } from "../errors.js";

export async function restoreCommand(_options: Record<string, unknown>): Promise<number> {
  throw new UsageError("'restore' is not implemented yet");
}
