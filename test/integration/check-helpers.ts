// `agent check --json` as the machine tests read it: the report, one check by name, and the
// checks that are not ok as lines for assertion messages.
import assert from "node:assert/strict";
import type { Machine } from "../machine/machine.js";

export interface CheckJson {
  name: string;
  status: string;
  summary: string;
  details: Record<string, unknown>;
  durationMs: number;
}

export interface ReportJson {
  app: string;
  status: string;
  checks: CheckJson[];
  changes: string[];
  durationMs: number;
}

// Run `agent check --json` inside the machine.
export async function agentCheck(
  machine: Machine,
  ...args: string[]
): Promise<{ code: number; report: ReportJson }> {
  const result = await machine.exec(["agent", "check", "--json", ...args]);
  assert.ok(result.stdout.startsWith("{"), `no JSON from agent check: ${result.stderr}`);
  return { code: result.exitCode, report: JSON.parse(result.stdout) as ReportJson };
}

// One check of a report, by name.
export function checkOf(report: ReportJson, name: string): CheckJson {
  const found = report.checks.find((c) => c.name === name);
  assert.ok(found, `no ${name} check in the report`);
  return found;
}

// The checks that are not ok, as "name: status summary" lines for assertion messages.
export function notOk(report: ReportJson): string {
  return report.checks
    .filter((c) => c.status !== "ok")
    .map((c) => `${c.name}: ${c.status} ${c.summary}`)
    .join("\n");
}
