// `agent check` wall time against the shell script it replaces, on the real sample app.
import type { Machine } from "../machine/machine.js";

// Median wall time in ms of a command run `n` times inside the machine (timed in the machine, so
// the harness's nsenter overhead is not counted), plus the exit code of the last run.
export async function medianMs(
  machine: Machine,
  command: string,
  n: number,
): Promise<{ ms: number; exit: number }> {
  const script = `for i in $(seq ${n}); do s=$(date +%s%N); ${command} >/dev/null 2>&1; rc=$?; e=$(date +%s%N); echo "$(( (e - s) / 1000 )) $rc"; done`;
  const out = (await machine.exec(["bash", "-c", script], { timeoutMs: 600_000 })).stdout
    .trim()
    .split("\n");
  const samples = out.map((l) => Number(l.split(" ")[0]) / 1000).sort((a, b) => a - b);
  const exit = Number(out.at(-1)?.split(" ")[1] ?? -1);
  return { ms: samples[Math.floor(samples.length / 2)] ?? Number.NaN, exit };
}

export interface CheckBench {
  agentMs: number;
  agentExit: number;
  scriptMs: number;
  scriptExit: number;
  ratio: number;
}

// `agent check` against the hand-made script doing the same checks, median of 11 runs each.
export async function benchCheck(machine: Machine): Promise<CheckBench> {
  await machine.exec(["agent", "backup"], { reject: true });
  const agent = await medianMs(machine, "agent check", 11);
  const script = await medianMs(
    machine,
    "bash /opt/deploy-agent/test/bench/check-equivalent.sh",
    11,
  );
  return {
    agentMs: agent.ms,
    agentExit: agent.exit,
    scriptMs: script.ms,
    scriptExit: script.exit,
    ratio: agent.ms / script.ms,
  };
}

export function checkLines(check: CheckBench): string[] {
  return [
    "agent check (median of 11, sample app, all checks)",
    `  agent check           ${check.agentMs.toFixed(0)} ms  (exit ${check.agentExit})`,
    `  shell script          ${check.scriptMs.toFixed(0)} ms  (exit ${check.scriptExit})`,
    `  ratio agent/script    ${check.ratio.toFixed(2)}×   target <= 0.35×: ${check.ratio <= 0.35 ? "met" : "NOT met"}`,
  ];
}
