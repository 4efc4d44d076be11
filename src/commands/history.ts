// Placeholder until the history command lands; the CLI table already routes to it.
import { UsageError } from "../errors.js";

export async function historyCommand(_options: Record<string, unknown>): Promise<number> {
  throw new UsageError("'history' is not implemented yet");
}
