// What a Nagios plugin printed, read by the plugin contract (Nagios Plugin Development
// Guidelines, "Plugin Output"): the first line is the summary, optionally followed by `|` and
// performance data; further lines are long text, and from the first of them holding a `|` on,
// everything after it is more performance data.

export interface PerfDatum {
  label: string;
  value: string;
  uom: string;
  warn?: string;
  crit?: string;
  min?: string;
  max?: string;
}

export interface PluginOutput {
  summary: string;
  longText: string[];
  perfdata: PerfDatum[];
  // Performance data as printed, for a consumer that reads it itself.
  perfdataRaw: string;
}

export function parsePluginOutput(stdout: string): PluginOutput {
  const lines = stdout.replace(/\r\n/g, "\n").replace(/\n+$/, "").split("\n");
  const [first = "", ...rest] = lines;
  const cut = first.indexOf("|");
  const summary = (cut < 0 ? first : first.slice(0, cut)).trim();
  const perf: string[] = cut < 0 ? [] : [first.slice(cut + 1).trim()];
  const longText: string[] = [];
  let inPerf = false;
  for (const line of rest) {
    if (inPerf) {
      perf.push(line.trim());
      continue;
    }
    const bar = line.indexOf("|");
    if (bar < 0) {
      longText.push(line);
      continue;
    }
    if (line.slice(0, bar).trim() !== "") longText.push(line.slice(0, bar));
    perf.push(line.slice(bar + 1).trim());
    inPerf = true;
  }
  const perfdataRaw = perf.filter(Boolean).join(" ");
  return { summary, longText, perfdata: parsePerfdata(perfdataRaw), perfdataRaw };
}

// 'label'=value[UOM];[warn];[crit];[min];[max], space separated; a label with spaces is quoted,
// and a quote inside it doubled. Malformed items are skipped, as Nagios's own parsers do.
const ITEM =
  /\s*('(?:[^']|'')+'|[^'=\s]+)=([^\s;]*)(?:;([^\s;]*))?(?:;([^\s;]*))?(?:;([^\s;]*))?(?:;([^\s;]*))?/y;

export function parsePerfdata(text: string): PerfDatum[] {
  const items: PerfDatum[] = [];
  ITEM.lastIndex = 0;
  while (ITEM.lastIndex < text.length) {
    const at = ITEM.lastIndex;
    const match = ITEM.exec(text);
    if (!match) {
      // Skip to the next space and try again from there.
      const next = text.indexOf(" ", at + 1);
      if (next < 0) break;
      ITEM.lastIndex = next;
      continue;
    }
    const rawLabel = match[1] as string;
    const label = rawLabel.startsWith("'") ? rawLabel.slice(1, -1).replace(/''/g, "'") : rawLabel;
    const [, value = "", uom = ""] =
      /^([-+]?[0-9.,]*(?:[eE][-+]?\d+)?)(.*)$/.exec(match[2] ?? "") ?? [];
    const datum: PerfDatum = { label, value, uom };
    const [warn, crit, min, max] = match.slice(3, 7);
    if (warn) datum.warn = warn;
    if (crit) datum.crit = crit;
    if (min) datum.min = min;
    if (max) datum.max = max;
    items.push(datum);
  }
  return items;
}
