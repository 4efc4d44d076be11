// Every health check `agent check` runs, in display order.
import type { Check } from "./types.js";

export const allChecks: Check[] = [];
