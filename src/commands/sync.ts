// Placeholder until the sync command lands; the CLI table already routes to it.
import { UsageError } from "../errors.js";

export async function syncCommand(_options: Record<string, unknown>): Promise<number> {
  throw new UsageError("'sync' is not implemented yet");
}
