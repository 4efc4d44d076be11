// Placeholder until the status command lands; the CLI table already routes to it.
import { UsageError } from "../errors.js";

export async function statusCommand(_options: Record<string, unknown>): Promise<number> {
  throw new UsageError("'status' is not implemented yet");
}
