// The status page for a person, as plain server-rendered HTML with inline SVG: nothing loaded
// from elsewhere (the Content-Security-Policy sent with it forbids it), no script at all, readable
// at phone width. Every text from the host or the app (summaries, errors, release names) is
// escaped here; the renderer is pure, so it is tested without a daemon.
import { formatDuration } from "../output/table.js";
import type { PageApp, PageData } from "./page-data.js";

const COLORS: Record<string, string> = {
  ok: "#2e7d32",
  deployed: "#2e7d32",
  warning: "#b26a00",
  unknown: "#6a1b9a",
  critical: "#c62828",
  failed: "#c62828",
  "rolled-back": "#b26a00",
  running: "#1565c0",
  skipped: "#9e9e9e",
  noop: "#9e9e9e",
  deploying: "#1565c0",
};

// A hue per step, so the same step has the same color in every deployment.
const STEP_HUES = [210, 150, 30, 280, 0, 90, 330, 180, 250, 60, 120, 300];

const STYLE = `
*{box-sizing:border-box}
body{font:15px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:12px;color:#1b1b1b;background:#fafafa;max-width:1100px;margin:0 auto}
h1{font-size:1.3em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .3em}h3{font-size:1em;margin:1em 0 .3em}
section.app{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 12px;margin:12px 0}
.meta{color:#555;font-size:.9em}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:.85em;font-weight:600}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #eee;vertical-align:top}
td.summary{word-break:break-word}
code{font-family:ui-monospace,monospace;font-size:.95em;overflow-wrap:anywhere}
svg{display:block;width:100%;height:auto}
.legend{font-size:.8em;color:#555}
form{display:flex;flex-wrap:wrap;gap:8px;align-items:center}
input[type=password]{flex:1 1 220px;padding:6px;font:inherit}
button{padding:6px 14px;font:inherit}
.error{color:#c62828}
footer{color:#777;font-size:.8em;margin:16px 0}
`;

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head>
<body>${body}</body></html>
`;
}

// The sign-in form: the only form the page has. It names nothing of the host's apps.
export function renderSignIn(message?: string): string {
  return page(
    "deploy-agent: sign in",
    `<h1>deploy-agent</h1>
<p>Enter the status endpoint's token (<code>/etc/deploy-agent/token</code>) to see this host's apps.</p>
<form method="post" action="/login">
<input type="password" name="token" autocomplete="current-password" aria-label="token" required autofocus>
<button type="submit">Sign in</button>
</form>${message ? `\n<p class="error" role="alert">${escapeHtml(message)}</p>` : ""}`,
  );
}

export function renderPage(data: PageData): string {
  const apps = data.apps.map(renderApp).join("\n");
  return page(
    `deploy-agent on ${data.host}`,
    `<h1>deploy-agent on ${escapeHtml(data.host)}</h1>
<p class="meta">agent ${escapeHtml(data.version)} · ${escapeHtml(data.generatedAt)}</p>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>
${apps}
<footer>Plain HTML from the agent's status endpoint; <code>agent status</code> and <code>agent history</code> say the same.</footer>`,
  );
}

// The color of a status; an unknown one (never an inherited property) is grey.
function colorOf(status: string): string {
  return Object.hasOwn(COLORS, status) ? (COLORS[status] as string) : "#555";
}

function badge(status: string): string {
  const color = colorOf(status);
  return `<span class="badge" style="background:${color}">${escapeHtml(status)}</span>`;
}

function renderApp(app: PageApp): string {
  const live = app.live
    ? `<code class="revision">${escapeHtml(app.live.revision)}</code> (release <code>${escapeHtml(app.live.release)}</code>)`
    : "no live release";
  const strategy =
    app.strategy === "blue-green"
      ? `blue-green, serving <strong class="color">${escapeHtml(app.serving ?? "no color")}</strong>`
      : escapeHtml(app.strategy);
  const status = app.lastCheck ? badge(app.lastCheck.status) : badge("unknown");
  return `<section class="app" data-app="${escapeHtml(app.name)}">
<h2>${escapeHtml(app.name)} ${status}</h2>
<p>Live: ${live}<br><span class="meta">strategy ${strategy} · ${escapeHtml(app.activity)}</span></p>
${renderLastCheck(app)}
${renderDeployments(app)}
${renderDurations(app)}
</section>`;
}

function renderLastCheck(app: PageApp): string {
  const last = app.lastCheck;
  if (!last) return "<h3>Last check</h3><p>No check on record yet.</p>";
  const rows = last.checks
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.name)}</td><td>${badge(c.status)}</td><td class="summary">${escapeHtml(c.summary)}</td></tr>`,
    )
    .join("");
  return `<h3>Last check</h3>
<p class="meta">${escapeHtml(last.at)} · ${escapeHtml(last.trigger)} · ${escapeHtml(formatDuration(last.durationMs))}</p>
<div class="scroll"><table class="checks"><thead><tr><th>check</th><th>status</th><th>summary</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

// Each deployment as a row of bars, one per step, on one time scale for all of them: the width
// of a bar is its step's duration, so the slow step of a slow deploy stands out at a glance.
function renderDeployments(app: PageApp): string {
  if (app.deployments.length === 0) return "<h3>Deployments</h3><p>None on record yet.</p>";
  const totals = app.deployments.map((d) => d.steps.reduce((sum, s) => sum + s.durationMs, 0));
  const scaleMs = Math.max(1, ...totals);
  const hues = new Map<string, number>();
  const hueOf = (step: string) => {
    if (!hues.has(step)) hues.set(step, STEP_HUES[hues.size % STEP_HUES.length] as number);
    return hues.get(step) as number;
  };
  const WIDTH = 1000;
  const rows = app.deployments
    .map((d) => {
      let x = 0;
      const bars = d.steps
        .map((s) => {
          const w = Math.max(1, (s.durationMs / scaleMs) * WIDTH);
          const fill = s.outcome === "failed" ? COLORS.failed : `hsl(${hueOf(s.step)} 55% 55%)`;
          const bar = `<rect class="step" data-step="${escapeHtml(s.step)}" x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="18" fill="${fill}" stroke="#fff" stroke-width="1"><title>${escapeHtml(`${s.step}: ${formatDuration(s.durationMs)} (${s.outcome})`)}</title></rect>`;
          x += w;
          return bar;
        })
        .join("");
      const took = d.durationMs === null ? "running" : formatDuration(d.durationMs);
      const sha = d.revision ? d.revision.slice(0, 12) : "";
      return `<div class="deployment" data-id="${d.id}">
<p class="meta">#${d.id} ${escapeHtml(d.startedAt)} · ${escapeHtml(d.trigger)} · <code>${escapeHtml(sha)}</code> ${badge(d.outcome)} ${escapeHtml(took)}${d.error ? ` · <span class="error">${escapeHtml(d.error)}</span>` : ""}</p>
<svg class="steps" viewBox="0 0 ${WIDTH} 18" preserveAspectRatio="none" role="img" aria-label="${escapeHtml(`steps of deployment ${d.id}`)}">${bars}</svg>
</div>`;
    })
    .join("\n");
  const legend = [...hues]
    .map(([step, hue]) => `<span style="color:hsl(${hue} 55% 40%)">■</span> ${escapeHtml(step)}`)
    .join(" ");
  return `<h3>Deployments</h3>
<p class="legend">Bars drawn to one scale: the full width is ${escapeHtml(formatDuration(scaleMs))}. ${legend}</p>
${rows}`;
}

// The duration of every check run of the last 24 hours, as a line over time, with each run's
// verdict as a dot.
function renderDurations(app: PageApp): string {
  const points = app.checkDurations;
  if (points.length === 0)
    return "<h3>Check durations, last 24 h</h3><p>No check in the last 24 hours.</p>";
  const W = 1000;
  const H = 160;
  const PAD = 4;
  const valid = app.checkDurations.filter((p) => Number.isFinite(Date.parse(p.at)));
  if (valid.length === 0)
    return "<h3>Check durations, last 24 h</h3><p>No check in the last 24 hours.</p>";
  const times = valid.map((p) => Date.parse(p.at));
  const end = Math.max(...times);
  // The last 24 hours, or less when the history is shorter: a day-old axis with every point at
  // its right edge would show nothing.
  const start = Math.max(end - 86_400_000, Math.min(...times));
  const span = Math.max(end - start, 1);
  const maxMs = Math.max(1, ...valid.map((p) => p.durationMs));
  const xy = valid.map((p, i) => {
    const x = PAD + (((times[i] as number) - start) / span) * (W - 2 * PAD);
    const y = H - PAD - (p.durationMs / maxMs) * (H - 2 * PAD);
    return { x, y, p };
  });
  const line = xy.map(({ x, y }) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  const dots = xy
    .map(
      ({ x, y, p }) =>
        `<circle class="run" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="2.5" fill="${colorOf(p.status)}"><title>${escapeHtml(`${p.at}: ${formatDuration(p.durationMs)} ${p.status}`)}</title></circle>`,
    )
    .join("");
  return `<h3>Check durations, last 24 h</h3>
<p class="legend">${valid.length} runs from ${escapeHtml(new Date(start).toISOString())} to ${escapeHtml(new Date(end).toISOString())}; top of the chart ${escapeHtml(formatDuration(maxMs))}.</p>
<svg class="durations" viewBox="0 0 ${W} ${H}" role="img" aria-label="check durations over the last 24 hours">
<rect x="0" y="0" width="${W}" height="${H}" fill="#fff" stroke="#ddd"/>
<polyline points="${line}" fill="none" stroke="#1565c0" stroke-width="1.5"/>${dots}</svg>`;
}
