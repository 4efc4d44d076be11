// Placeholder until the daemon command lands; the CLI table already routes to it.
import { UsageError } from "../errors.js";

export async function daemonCommand(_options: Record<string, unknown>): Promise<number> {
  throw new UsageError("'daemon' is not implemented yet");
}
