// Placeholder until the rollback command lands; the CLI table already routes to it.
import { UsageError } from "../errors.js";

export async function rollbackCommand(_options: Record<string, unknown>): Promise<number> {
  throw new UsageError("'rollback' is not implemented yet");
}
