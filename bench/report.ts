/*
 * The bench's report: the summary table for the terminal, and a self-contained HTML page
 * (inline SVG, no scripts or external files) with campaign progress over virtual time and
 * the airtime per phase.
 */
import type { RunResult } from "./run";
import { errName } from "../tools/errors/table";

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const secs = (ms: number) => (ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`);

/** Rows of the summary table (first row: the header). */
export function summaryRows(r: RunResult): string[][] {
  const rows = [["meter", "kind", "pulses", "register", "after update", "profile (n, sum)", "before clock", "campaign", "version", "confirmed", "power cuts"]];
  for (const m of r.meters) {
    rows.push([String(m.id), m.kind, String(m.pulses), String(m.register), String(m.registerAfter), `${m.intervals}, ${m.intervalSum}`, String(m.preClock),
      m.campaignState + (m.code ? ` ${errName(m.code)}` : ""), `v${m.version}`, m.confirmed ? "yes" : "no", m.cuts.join("; ") || "-"]);
  }
  return rows;
}

export function formatTable(rows: string[][]): string {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((x, c) => x.padEnd(w[c])).join("  ");
  return [line(rows[0]), w.map((n) => "-".repeat(n)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

/** The summary's lines under the meters table (the HTML page shows the table once, as a table). */
function totalsLines(r: RunResult): string[] {
  const c = r.campaign;
  return [
    `image: ${r.image.source}, ${r.image.size} bytes in ${r.image.blocks} blocks, v${r.image.version}`,
    `readings: ${r.readings.collected} register readings collected, ${r.readings.missed} missed and retried by later rounds; ${r.readings.lines} lines in the readings file`,
    `campaign: ${c.rounds} rounds, ${c.polls} polls, ${c.blocks} blocks broadcast, ${c.frames} frames, ${c.bytes} bytes from the concentrator; ${secs(c.virtualMs)} of virtual time`,
    `line: ${r.line.frames} frames, ${r.line.bytes} bytes, ${secs(r.line.airtimeMs)} of airtime; per phase: ${Object.entries(r.airtimeByPhase).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${secs(v)}`).join(", ")}`,
    `wall time: ${secs(r.wallMs)}`,
  ];
}

export function summaryText(r: RunResult): string {
  return [formatTable(summaryRows(r)), "", ...totalsLines(r)].join("\n");
}

/** An event's time on the progress chart's axis: seconds from the campaign's start (negative before it). */
const onAxis = (r: RunResult, t: number) => t - r.campaignStartS;

const PHASE_COLOURS: Record<string, string> = {
  control: "#e0d4f7", broadcast: "#cfe8ff", poll: "#fff1c2", repair: "#ffd9c7", activate: "#d6f5d6", "read-back": "#e6e6e6", readings: "#f0f0f0", done: "#ffffff", aborted: "#ffc9c9",
};

function progressChart(r: RunResult): string {
  const W = 760, H = 260, L = 50, B = 30, T = 10, R = 30;
  const tl = r.timeline;
  if (tl.length < 2) return "<p>No campaign timeline.</p>";
  const tMax = Math.max(1, tl[tl.length - 1].t);
  const total = Math.max(1, r.meters.length * r.image.blocks);
  const x = (t: number) => L + ((W - L - R) * t) / tMax;
  const y = (f: number) => H - B - (H - B - T) * f;
  let bands = "";
  for (let i = 0; i < tl.length - 1; i++) {
    bands += `<rect x="${x(tl[i].t).toFixed(1)}" y="${T}" width="${Math.max(0.5, x(tl[i + 1].t) - x(tl[i].t)).toFixed(1)}" height="${H - B - T}" fill="${PHASE_COLOURS[tl[i].phase] ?? "#fafafa"}"/>`;
  }
  const held = tl.map((s) => `${x(s.t).toFixed(1)},${y(s.blocksHeld / total).toFixed(1)}`).join(" ");
  const done = tl.map((s) => `${x(s.t).toFixed(1)},${y(s.complete / Math.max(1, r.meters.length)).toFixed(1)}`).join(" ");
  let ticks = "";
  for (let k = 0; k <= 4; k++) {
    const t = (tMax * k) / 4;
    ticks += `<text x="${x(t).toFixed(1)}" y="${H - 10}" font-size="11" text-anchor="middle">${t.toFixed(0)} s</text>`;
    ticks += `<text x="${L - 6}" y="${(y(k / 4) + 4).toFixed(1)}" font-size="11" text-anchor="end">${k * 25}%</text>`;
  }
  const legend = Object.entries(PHASE_COLOURS).filter(([p]) => tl.some((s) => s.phase === p))
    .map(([p, c], i) => `<rect x="${L + i * 95}" y="${H + 4}" width="12" height="12" fill="${c}" stroke="#999"/><text x="${L + i * 95 + 16}" y="${H + 14}" font-size="11">${p}</text>`).join("");
  // the events that fall in the campaign, numbered as in the list below the chart
  let marks = "";
  r.events.forEach((e, k) => {
    const t = onAxis(r, e.t);
    if (t < 0 || t > tMax) return;
    marks += `<line x1="${x(t).toFixed(1)}" y1="${T}" x2="${x(t).toFixed(1)}" y2="${H - B}" stroke="#b00020" stroke-dasharray="3,3"/><text x="${(x(t) + 3).toFixed(1)}" y="${T + 40 + 12 * (k % 4)}" font-size="11" fill="#b00020">${k + 1}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 40}" role="img" aria-label="campaign progress">
${bands}<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>
<polyline points="${held}" fill="none" stroke="#1f6fd1" stroke-width="2"/><polyline points="${done}" fill="none" stroke="#2a9d3a" stroke-width="2" stroke-dasharray="5,3"/>
${ticks}${legend}${marks}
<text x="${W - R}" y="${T + 12}" font-size="11" text-anchor="end" fill="#1f6fd1">blocks held by the meters</text>
<text x="${W - R}" y="${T + 26}" font-size="11" text-anchor="end" fill="#2a9d3a">meters complete</text>
</svg>`;
}

function airtimeChart(r: RunResult): string {
  const items = Object.entries(r.airtimeByPhase).filter(([, v]) => v > 0);
  if (!items.length) return "";
  const W = 760, row = 24, L = 100;
  const max = Math.max(...items.map(([, v]) => v));
  const bars = items.map(([p, v], i) => {
    const w = ((W - L - 120) * v) / max;
    return `<text x="${L - 6}" y="${i * row + 16}" font-size="12" text-anchor="end">${esc(p)}</text><rect x="${L}" y="${i * row + 4}" width="${w.toFixed(1)}" height="16" fill="${PHASE_COLOURS[p] ?? "#ccc"}" stroke="#888"/><text x="${(L + w + 6).toFixed(1)}" y="${i * row + 16}" font-size="12">${secs(v)}</text>`;
  }).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${items.length * row + 8}" role="img" aria-label="airtime per phase">${bars}</svg>`;
}

export function reportHtml(r: RunResult): string {
  const rows = summaryRows(r);
  const table = `<table><thead><tr>${rows[0].map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.slice(1).map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>meterline bench: ${esc(r.scenario.name)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3}.ok{color:#2a7a2a}.bad{color:#b00020}pre{background:#f7f7f7;padding:8px;font-size:12px;white-space:pre-wrap}</style></head>
<body>
<h1>meterline bench: ${esc(r.scenario.name)}</h1>
<p class="${r.ok ? "ok" : "bad"}"><strong>${r.ok ? "Passed" : "Failed"}</strong>${r.ok ? ": every meter runs the new program, confirmed, and every reading is accounted for." : `: ${esc(r.reason)}`}</p>
<p>${r.meters.length} meters, ${esc(r.scenario.modem)} at ${r.scenario.bitRate} bit/s, ${(r.scenario.loss.p * 100).toFixed(0)}% loss in bursts of ${r.scenario.loss.meanBurst} frames on average, seed ${r.scenario.seed}; image ${r.image.size} bytes in ${r.image.blocks} blocks.</p>
<h2>Campaign progress over virtual time</h2>
${progressChart(r)}
<h2>Airtime per phase</h2>
${airtimeChart(r)}
<h2>Meters</h2>
${table}
<h2>Totals</h2>
<pre>${esc(totalsLines(r).join("\n"))}</pre>
<h2>Events</h2>
<p>Times in seconds from the campaign's start, as on the chart's axis (negative: during the day of readings before it). The events inside the campaign are marked on the chart by their number.</p>
<ol>${r.events.map((e) => { const t = onAxis(r, e.t); return `<li>${t >= 0 ? "+" : ""}${t.toFixed(1)} s: ${esc(e.text)}</li>`; }).join("")}</ol>
</body></html>
`;
}
