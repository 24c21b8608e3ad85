/*
 * The bench's report: the summary table for the terminal, and a self-contained HTML page
 * (inline SVG written here, no scripts or external files): the campaign's progress over
 * virtual time with its phases and events, one lane per meter (the blocks it holds, its
 * power cuts and restarts), a heat map of what the concentrator heard each round, the
 * readings and load profiles, the airtime per phase, the meters table and the event list.
 * The pure pieces (ticks, off spans, heat grid, stripe notes, phase legend) are exported for
 * their tests; test/bench/report-page-in-headless-chromium... looks at the page in Chromium.
 */
import { DAY0, type RoundHeard, type RunResult, type Sample } from "./run";
import { errName } from "../tools/errors/table";
import { Ph, PHASE_NAMES, REBOOT_WAIT_MS } from "../firmware/concentrator/campaign";

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
    `image: ${r.image.source}${r.image.compressed ? ", packed" : ""}, ${r.image.size} bytes in ${r.image.blocks} blocks, v${r.image.version}`,
    `readings: ${r.readings.collected} register readings collected, ${r.readings.missed} missed and retried by later rounds; ${r.readings.lines} lines drained from the readings store`,
    `campaign: ${c.rounds} rounds, ${c.polls} polls, ${c.blocks} blocks broadcast, ${c.frames} frames, ${c.bytes} bytes from the concentrator; ${secs(c.virtualMs)} of virtual time`,
    `line: ${r.line.frames} frames, ${r.line.bytes} bytes, ${secs(r.line.airtimeMs)} of airtime; per phase: ${Object.entries(r.airtimeByPhase).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${secs(v)}`).join(", ")}`,
    ...(r.neighbour ? [`neighbour: concentrator ${r.neighbour.id} on the same line, ${r.neighbour.lines} lines in its own store; its meters ${r.neighbour.meters.map((m) => `${m.id} (its own, v${m.version}, register ${m.register} of ${m.pulses} pulses${m.inOurRegistry || m.inOurStore ? ", reached by ours" : ""})`).join(", ")}`] : []),
    ...r.meters.filter((m) => m.outage).map((m) => `outage: meter ${m.id} off ${m.outage!.offSeconds} s, its POWER_UP events say ${m.outage!.powerUps.join(", ")} s; ${m.outage!.register} pulses not yet saved lost from its register, ${m.outage!.profile} from the interval it struck`),
    `wall time: ${secs(r.wallMs)}`,
  ];
}

export function summaryText(r: RunResult): string {
  return [formatTable(summaryRows(r)), "", ...totalsLines(r)].join("\n");
}


/** An event's time on the progress chart's axis: seconds from the campaign's start (negative before it). */
const onAxis = (r: RunResult, t: number) => t - r.campaignStartS;

/**
 * Every phase that can take airtime, in the order they come: the readings before the campaign,
 * then the campaign's own phases from Ph.CONTROL to Ph.READBACK, by their PHASE_NAMES; and
 * their colours (the legend lists them all).
 */
export const PHASES: readonly string[] = ["readings", ...PHASE_NAMES.slice(Ph.CONTROL, Ph.READBACK + 1)];
const PHASE_COLOURS: Record<string, string> = {
  readings: "#d9d9d9", control: "#e0d4f7", broadcast: "#cfe8ff", poll: "#fff1c2", repair: "#ffd9c7", activate: "#d6f5d6", "read-back": "#c9c9c9",
  paused: "#f5f5f5", done: "#ffffff", aborted: "#ffc9c9",
};

/** The legend's entries: every phase with its airtime (0 when it took none), then any other phase the run spent airtime in. */
export function phaseLegend(r: RunResult): { phase: string; airtimeMs: number; colour: string }[] {
  const extra = Object.keys(r.airtimeByPhase).filter((p) => !PHASES.includes(p) && r.airtimeByPhase[p] > 0);
  return [...PHASES, ...extra].map((p) => ({ phase: p, airtimeMs: r.airtimeByPhase[p] ?? 0, colour: PHASE_COLOURS[p] ?? "#ccc" }));
}

/** Round tick values from 0 to at least `max`: steps of 1, 2 or 5 times a power of ten, about `n` of them. */
export function niceTicks(max: number, n = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / n, p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * p).find((x) => x >= raw)!;
  const out: number[] = [];
  for (let v = 0; v < max + step * 1e-9; v += step) out.push(+v.toFixed(10));
  return out;
}

/** The spans [from, to] (sample times) in which a meter was off (held -1) in the timeline. */
export function offSpans(tl: Sample[], meter: number): [number, number][] {
  const out: [number, number][] = [];
  let from = -1;
  tl.forEach((s, k) => {
    const off = s.held[meter] < 0;
    if (off && from < 0) from = k;
    if (!off && from >= 0) { out.push([tl[from].t, s.t]); from = -1; }
  });
  if (from >= 0) out.push([tl[from].t, tl[tl.length - 1].t]);
  return out;
}

export interface HeatGrid {
  /** "blocks": rows are rounds, columns blocks (patent); "meters": rows are meters, columns rounds (coded). */
  kind: "blocks" | "meters";
  rows: string[]; cols: string[];
  /** cells[row][col]; -1: the meter was not heard that round. */
  cells: number[][];
  max: number;
  /** Blocks per column (patent, when the image has more blocks than columns). */
  binned: number;
}

/**
 * Every round of the campaign, from its first heard (round 0, the control's query, only when
 * heard) to the last it counted (r.campaign.rounds): one the concentrator heard nobody in
 * (coded: no unfinished meter answered the group query, so it went on to activate) is there
 * too, marked unheard, so the heat map skips no round.
 */
export function everyRound(r: RunResult): (RoundHeard & { unheard?: boolean })[] {
  const by = new Map(r.rounds.map((rd) => [rd.round, rd]));
  const first = r.rounds.length ? Math.min(1, r.rounds[0].round) : 1;
  const last = Math.max(r.campaign.rounds, ...r.rounds.map((rd) => rd.round));
  const out: (RoundHeard & { unheard?: boolean })[] = [];
  for (let k = first; k <= last; k++) {
    const rd = by.get(k);
    out.push(rd && Object.keys(rd.need).length + rd.missing.reduce((a, v) => a + v, 0) > 0 ? rd : { round: k, t: rd?.t ?? NaN, missing: [], need: {}, unheard: true });
  }
  return out;
}

/**
 * The heat map's grid. Patent: how many meters reported each block missing, by round (blocks
 * binned into at most `maxCols` columns, a column showing its worst block). Coded: each
 * meter's deficit by round (-1: not heard that round: finished, or silent).
 */
export function heatGrid(r: RunResult, maxCols = 200, maxRows = 100): HeatGrid {
  const rounds = everyRound(r);
  if (r.scenario.method === "patent") {
    const K = r.image.blocks, binned = Math.max(1, Math.ceil(K / maxCols));
    const nCols = Math.ceil(K / binned);
    const cells = rounds.map((rd) => Array.from({ length: nCols }, (_, c) => (rd.unheard ? -1 : Math.max(0, ...rd.missing.slice(c * binned, (c + 1) * binned)))));
    const cols = Array.from({ length: nCols }, (_, c) => (binned === 1 ? String(c) : `${c * binned}-${Math.min(K, (c + 1) * binned) - 1}`));
    return { kind: "blocks", rows: rounds.map((rd) => String(rd.round)), cols, cells, max: Math.max(0, ...cells.flat()), binned };
  }
  const ms = r.meters.slice(0, maxRows);
  const cells = ms.map((m) => rounds.map((rd) => rd.need[m.id] ?? -1));
  return { kind: "meters", rows: ms.map((m) => String(m.id)), cols: rounds.map((rd) => String(rd.round)), cells, max: Math.max(0, ...cells.flat()), binned: 1 };
}

const WHY: Record<string, string> = {
  selected: "had not taken the control, so the control went out again",
  downloading: "had not finished the download, so the rounds went on",
  complete: "held the whole image but had not taken the activation, so it was repeated",
  activating: "had not answered the read-back",
  checked: "had only checked the image",
  failed: "had failed (not asked again)",
  reverted: "had gone back to the old program (not asked again)",
};

/**
 * Why the activate and read-back stripes repeat: one sentence per read-back that did not
 * find every meter activated, from the meters it left waiting and their states.
 */
export function stripeNotes(r: RunResult): string[] {
  const notes: string[] = [];
  for (const s of r.timeline) {
    if (!s.waiting?.length) continue;
    const by = new Map<string, number[]>();
    for (const w of s.waiting) { if (!by.has(w.state)) by.set(w.state, []); by.get(w.state)!.push(w.id); }
    const parts = [...by].map(([st, ids]) => {
      let why = WHY[st] ?? `had state ${st}`;
      if (st === "complete" && r.scenario.keys) why += " (keyed meters take the ACTIVATE only addressed to them, not broadcast)";
      const named = ids.length > 12 ? `${ids.slice(0, 12).join(", ")} and ${ids.length - 12} more` : ids.join(", ");
      return `${ids.length} ${ids.length === 1 ? "meter" : "meters"} (${named}) ${why}`;
    });
    notes.push(`After the read-back ending at +${s.t.toFixed(0)} s: ${parts.join("; ")}.`);
  }
  return notes;
}

/**
 * Why an activate or read-back stripe lasted longer than its pass over the meters (and, for
 * activate, the reboot wait): one note per such stripe, from what the concentrator asked and
 * heard in it (r.talk): each meter it asked, how often, and what it answered (or that it did
 * not), with the blocks a meter's lane held when the stripe began if it was short of the image.
 * `t`: the stripe's start (s on the chart's axis).
 */
export function longStripeNotes(r: RunResult): { t: number; text: string }[] {
  const tl = r.timeline, talk = r.talk ?? [], K = r.image.blocks, out: { t: number; text: string }[] = [];
  const at = (t: number) => `+${t.toFixed(1)} s`;
  for (let i = 0; i < tl.length - 1; i++) {
    const phase = tl[i].phase;
    if ((phase !== "activate" && phase !== "read-back") || (i && tl[i - 1].phase === phase)) continue;
    let j = i + 1;
    while (j < tl.length - 1 && tl[j].phase === phase) j++;
    const t0 = tl[i].t, t1 = tl[j].t, said = talk.filter((x) => x.t >= t0 - 0.05 && x.t <= t1 + 0.05 && x.phase === phase);
    // one pass: what was asked before any meter was asked a second time (broadcasts all count)
    const seen = new Set<number>();
    let passEnd = t0;
    for (const x of said) {
      if (!x.asked) continue;
      if (x.meter && seen.has(x.meter)) break;
      if (x.meter) seen.add(x.meter);
      passEnd = x.t;
    }
    const wait = phase === "activate" ? REBOOT_WAIT_MS / 1000 : 0, usual = passEnd - t0 + wait + 3;
    if (t1 - t0 <= usual || !said.length) continue;
    const parts: string[] = [];
    const casts = new Map<string, number>();
    for (const x of said) if (x.asked && !x.meter) casts.set(x.what, (casts.get(x.what) ?? 0) + 1);
    for (const [w, n] of casts) parts.push(`${w} broadcast ${n === 1 ? "once" : `${n} times`}`);
    const ids = [...new Set(said.filter((x) => x.meter).map((x) => x.meter))];
    const per = ids.map((id) => {
      const asked = said.filter((x) => x.asked && x.meter === id), answers = said.filter((x) => !x.asked && x.meter === id);
      const k = r.meters.findIndex((m) => m.id === id), h = k >= 0 ? tl[i].held[k] : undefined;
      const short = h !== undefined && h < K ? ` (its lane: ${h < 0 ? "off" : `${h} of ${K} blocks`} at the start)` : "";
      const what = asked.length ? `${asked[0].what} ${asked.length === 1 ? "once" : `${asked.length} times`}` : "not asked by address";
      const ans = answers.length ? answers.map((a) => `${a.what} at ${at(a.t)}`).join(", ") : "no answer";
      const unanswered = asked.length - answers.length;
      return `${id}${short}: ${what}, ${unanswered > 0 && answers.length ? `${unanswered} unanswered, then ` : ""}${ans}`;
    });
    const why = phase === "activate" ? `one pass and the ${wait} s wait for the restarts take about ${(usual - 3).toFixed(0)} s` : `one pass takes about ${Math.max(1, passEnd - t0).toFixed(0)} s`;
    out.push({ t: t0, text: `The ${phase} stripe ${at(t0)} to ${at(t1)} took ${(t1 - t0).toFixed(0)} s (${why}; a meter that does not answer is asked again, the pause doubling while nobody answers, up to a minute): ${[...parts, ...per].join("; ")}.` });
  }
  return out;
}

/** The runs of one phase in the timeline (how many stripes of it the chart shows). */
export function stripes(tl: Sample[], phase: string): number {
  let n = 0;
  tl.forEach((s, k) => { if (s.phase === phase && (k === 0 || tl[k - 1].phase !== phase)) n++; });
  return n;
}

// ---- drawing: the progress chart and the lanes share one time axis
const W = 800, L = 64, R = 90;
const fx = (v: number) => v.toFixed(1);

function timeAxis(r: RunResult) {
  const tl = r.timeline;
  const tMax = Math.max(1, tl.length ? tl[tl.length - 1].t : 1);
  return { tMax, x: (t: number) => L + ((W - L - R) * Math.max(0, Math.min(t, tMax))) / tMax, ticks: niceTicks(tMax).filter((t) => t <= tMax) };
}

function bands(r: RunResult, top: number, h: number): string {
  const tl = r.timeline, { x } = timeAxis(r);
  let out = "";
  // one band per run of samples in the same phase (no seams between the samples of one phase)
  for (let i = 0, j = 1; i < tl.length - 1; i = j, j = i + 1) {
    while (j < tl.length - 1 && tl[j].phase === tl[i].phase) j++;
    out += `<rect class="band" data-phase="${esc(tl[i].phase)}" x="${fx(x(tl[i].t))}" y="${top}" width="${fx(Math.max(0.5, x(tl[j].t) - x(tl[i].t)))}" height="${h}" fill="${PHASE_COLOURS[tl[i].phase] ?? "#fafafa"}"/>`;
  }
  return out;
}

function legendRow(r: RunResult, y: number): string {
  const total = Object.values(r.airtimeByPhase).reduce((a, v) => a + v, 0) || 1;
  return phaseLegend(r).map((e, i) => {
    const lx = L + (i % 4) * 170, ly = y + Math.floor(i / 4) * 18;
    return `<g class="legend-item" data-phase="${esc(e.phase)}"><rect x="${lx}" y="${ly}" width="12" height="12" fill="${e.colour}" stroke="#888"/><text x="${lx + 16}" y="${ly + 10}" font-size="11">${esc(e.phase)} ${secs(e.airtimeMs)} (${((100 * e.airtimeMs) / total).toFixed(0)}%)</text></g>`;
  }).join("");
}

function progressChart(r: RunResult): string {
  const H = 260, B = 30, T = 10;
  const tl = r.timeline;
  if (tl.length < 2) return "<p>No campaign timeline.</p>";
  const { tMax, x, ticks } = timeAxis(r);
  const total = Math.max(1, r.meters.length * r.image.blocks);
  const y = (f: number) => H - B - (H - B - T) * f;
  const held = tl.map((s) => `${fx(x(s.t))},${fx(y(s.blocksHeld / total))}`).join(" ");
  const done = tl.map((s) => `${fx(x(s.t))},${fx(y(s.complete / Math.max(1, r.meters.length)))}`).join(" ");
  let axes = "";
  for (const t of ticks) axes += `<text x="${fx(x(t))}" y="${H - 12}" font-size="11" text-anchor="middle">${t} s</text>`;
  for (let k = 0; k <= 4; k++) axes += `<text x="${L - 6}" y="${fx(y(k / 4) + 4)}" font-size="11" text-anchor="end">${k * 25}%</text>`;
  // the campaign's events (those of one meter's restart are on its lane), numbered as in the list below
  let marks = "";
  r.events.forEach((e, k) => {
    const t = onAxis(r, e.t);
    // (the end is noted at the last sample's time, which its subtraction can put a hair past tMax)
    if (t < -0.001 || t > tMax + 0.001 || e.kind === "restart") return;
    const who = e.meter !== undefined ? ` data-meter="${e.meter}" data-kind="${e.kind}"` : "";
    marks += `<line class="event-mark" data-event="${k + 1}"${who} x1="${fx(x(t))}" y1="${T}" x2="${fx(x(t))}" y2="${H - B}" stroke="#b00020" stroke-dasharray="3,3"/><text x="${fx(x(t) + 3)}" y="${T + 40 + 12 * (k % 4)}" font-size="11" fill="#b00020">${k + 1}</text>`;
  });
  const rows = Math.ceil(phaseLegend(r).length / 4);
  return `<svg class="chart" id="progress" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 8 + rows * 18}" role="img" aria-label="campaign progress">
${bands(r, T, H - B - T)}<line class="time-axis" x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>
<polyline class="held-line" points="${held}" fill="none" stroke="#1f6fd1" stroke-width="2"/><polyline points="${done}" fill="none" stroke="#2a9d3a" stroke-width="2" stroke-dasharray="5,3"/>
${axes}${marks}
<text x="${W - R + 4}" y="${T + 12}" font-size="11" fill="#1f6fd1">blocks held</text>
<text x="${W - R + 4}" y="${T + 26}" font-size="11" fill="#2a9d3a">meters</text><text x="${W - R + 4}" y="${T + 38}" font-size="11" fill="#2a9d3a">complete</text>
${legendRow(r, H + 4)}
</svg>`;
}

function stripeCaption(r: RunResult): string {
  const a = stripes(r.timeline, "activate"), b = stripes(r.timeline, "read-back");
  if (!a && !b) return "";
  const notes = [...longStripeNotes(r).map((n) => ({ ...n, cls: "long-stripe" })), ...stripeNotes(r).map((text) => ({ t: +(/ending at \+(\d+)/.exec(text)?.[1] ?? 0), text, cls: "waiting" }))].sort((a, b) => a.t - b.t);
  return `<p class="caption">The bands are the campaign's phases; the airtime each took is in the legend. Each <b>activate</b> stripe is the activation (${r.scenario.keys ? "ACTIVATE addressed to each meter, as keyed meters take it only so, again to each that does not answer" : `${r.scenario.method === "coded" ? "the ACTIVATE broadcast repeated, so that hardly a meter misses it" : "one ACTIVATE broadcast"}, then ACTIVATE addressed to each meter that keeps missing it`}) and the ${REBOOT_WAIT_MS / 1000} s wait for the meters to restart (a stripe that took longer has a note below saying who was asked and what they answered); each <b>read-back</b> stripe asks the meters what they now run. A read-back that does not find every meter activated sends the campaign back: here it activated ${a} ${a === 1 ? "time" : "times"} and read back ${b} ${b === 1 ? "time" : "times"}.</p>${notes.length ? `<ul class="caption stripe-notes">${notes.map((n) => `<li class="${n.cls}">${esc(n.text)}</li>`).join("")}</ul>` : ""}`;
}

const LANES_MAX = 100;

/** One lane per meter: the blocks it holds over the campaign, its off spans, power cuts, power-backs and restarts. */
function laneChart(r: RunResult): string {
  const tl = r.timeline;
  if (tl.length < 2 || !tl[0].held) return "";
  const { x, ticks, tMax } = timeAxis(r);
  const K = Math.max(1, r.image.blocks), LH = 26, gap = 4, T = 4;
  const shown = r.meters.slice(0, LANES_MAX);
  let out = "";
  shown.forEach((m, i) => {
    const top = T + i * (LH + gap), base = top + LH;
    const yv = (h: number) => base - (LH - 2) * (h / K);
    // the held line in pieces: a meter that is off has no line
    let pieces = "", cur: string[] = [];
    const flush = () => { if (cur.length > 1) pieces += `<polygon points="${fx(+cur[0].split(",")[0])},${base} ${cur.join(" ")} ${cur[cur.length - 1].split(",")[0]},${base}" fill="#cfe0f7" stroke="#1f6fd1" stroke-width="1"/>`; cur = []; };
    for (const s of tl) { const h = s.held[i]; if (h < 0) flush(); else cur.push(`${fx(x(s.t))},${fx(yv(h))}`); }
    flush();
    const off = offSpans(tl, i).map(([a, b]) => `<rect class="lane-off" x="${fx(x(a))}" y="${top}" width="${fx(Math.max(1, x(b) - x(a)))}" height="${LH}" fill="url(#hatch)" stroke="#999"/>`).join("");
    let marks = "";
    for (const e of r.events) {
      if (e.meter !== m.id || !e.kind) continue;
      const t = onAxis(r, e.t);
      if (t < -0.001 || t > tMax + 0.001) continue;
      const cx = fx(x(t));
      if (e.kind === "cut") marks += `<g class="lane-cut"><line x1="${cx}" y1="${top}" x2="${cx}" y2="${base}" stroke="#b00020" stroke-width="2"/><text x="${cx}" y="${top + 10}" font-size="11" fill="#b00020" text-anchor="middle">✕</text><title>${esc(e.text)}</title></g>`;
      else if (e.kind === "power-back") marks += `<g class="lane-back"><line x1="${cx}" y1="${top}" x2="${cx}" y2="${base}" stroke="#e08a00" stroke-width="2"/><title>${esc(e.text)}</title></g>`;
      else marks += `<g class="lane-restart"><path d="M${cx},${top + 2} l5,9 l-10,0 z" fill="#2a9d3a"/><title>${esc(e.text)}</title></g>`;
    }
    const ok = m.campaignState === "activated";
    out += `<g class="lane" data-meter="${m.id}"><rect class="lane-track" x="${L}" y="${top}" width="${W - L - R}" height="${LH}" fill="#fafafa" stroke="#ddd"/>${pieces}${off}${marks}`
      + `<text x="${L - 6}" y="${top + 17}" font-size="12" text-anchor="end">${m.id}</text><text x="${W - R + 4}" y="${top + 17}" font-size="11" fill="${ok ? "#2a7a2a" : "#b00020"}">${esc(m.campaignState)}</text></g>`;
  });
  const H = T + shown.length * (LH + gap);
  let axis = "";
  for (const t of ticks) axis += `<text x="${fx(x(t))}" y="${H + 12}" font-size="11" text-anchor="middle">${t} s</text>`;
  const ly = H + 24;
  const key = `<g class="lane-key"><rect x="${L}" y="${ly}" width="14" height="10" fill="#cfe0f7" stroke="#1f6fd1"/><text x="${L + 18}" y="${ly + 9}" font-size="11">blocks held (lane full: all ${K})</text>`
    + `<rect x="${L + 190}" y="${ly}" width="14" height="10" fill="url(#hatch)" stroke="#999"/><text x="${L + 208}" y="${ly + 9}" font-size="11">off</text>`
    + `<line x1="${L + 250}" y1="${ly - 1}" x2="${L + 250}" y2="${ly + 11}" stroke="#b00020" stroke-width="2"/><text x="${L + 256}" y="${ly + 9}" font-size="11">power cut</text>`
    + `<line x1="${L + 330}" y1="${ly - 1}" x2="${L + 330}" y2="${ly + 11}" stroke="#e08a00" stroke-width="2"/><text x="${L + 336}" y="${ly + 9}" font-size="11">power back</text>`
    + `<path d="M${L + 420},${ly} l5,9 l-10,0 z" fill="#2a9d3a"/><text x="${L + 430}" y="${ly + 9}" font-size="11">restart (boot routine)</text></g>`;
  return `<svg class="chart" id="lanes" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${ly + 16}" role="img" aria-label="meters over the campaign">
<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eee"/><line x1="0" y1="0" x2="0" y2="6" stroke="#aaa" stroke-width="2"/></pattern></defs>
${out}${axis}${key}</svg>${r.meters.length > LANES_MAX ? `<p class="caption">The first ${LANES_MAX} of ${r.meters.length} meters.</p>` : ""}`;
}

/** White to dark orange by v/max. */
function heat(v: number, max: number): string {
  const f = max > 0 ? Math.min(1, v / max) : 0;
  const stops = [[255, 247, 236], [253, 141, 60], [127, 39, 4]];
  const k = f < 0.5 ? 0 : 1, g = f < 0.5 ? f * 2 : (f - 0.5) * 2;
  const c = stops[k].map((a, j) => Math.round(a + (stops[k + 1][j] - a) * g));
  return `rgb(${c.join(",")})`;
}

/** " Rounds 3 and 5 heard nobody." (the rounds the grid shows grey throughout), or "". */
function unheard(g: HeatGrid): string {
  const ks = g.kind === "blocks" ? g.rows.filter((_, i) => g.cells[i].every((v) => v < 0)) : g.cols.filter((_, j) => g.cells.every((row) => row[j] < 0));
  if (!ks.length) return "";
  return ks.length === 1 ? ` Round ${ks[0]} heard nobody.` : ` Rounds ${ks.slice(0, -1).join(", ")} and ${ks[ks.length - 1]} heard nobody.`;
}

function heatMap(r: RunResult): string {
  if (!r.rounds.length) return "<p>The concentrator heard no round's answers.</p>";
  const g = heatGrid(r);
  const blocks = g.kind === "blocks";
  const LB = 84, TP = 18;
  const cw = Math.max(3, Math.min(40, Math.floor((W - LB - 20) / Math.max(1, g.cols.length))));
  const ch = blocks ? 16 : Math.max(12, Math.min(20, Math.floor(400 / Math.max(1, g.rows.length))));
  let cells = "";
  g.cells.forEach((row, i) => row.forEach((v, j) => {
    const cx = LB + j * cw, cy = TP + i * ch;
    const label = blocks ? `round ${g.rows[i]}, block ${g.cols[j]}: ${v < 0 ? "no meter heard that round" : `${v} ${v === 1 ? "meter" : "meters"} missing it`}` : `meter ${g.rows[i]}, round ${g.cols[j]}: ${v < 0 ? "not heard" : `needs ${v}`}`;
    cells += `<rect class="heat-cell" x="${cx}" y="${cy}" width="${cw - (cw > 6 ? 1 : 0)}" height="${ch - 1}" fill="${v < 0 ? "#f2f2f2" : heat(v, g.max)}"><title>${esc(label)}</title></rect>`;
    if (!blocks && cw >= 24 && v >= 0) cells += `<text x="${cx + cw / 2}" y="${cy + ch / 2 + 4}" font-size="10" text-anchor="middle" fill="${v > g.max / 2 ? "#fff" : "#333"}">${v}</text>`;
  }));
  let labels = g.rows.map((l, i) => `<text x="${LB - 6}" y="${TP + i * ch + ch / 2 + 4}" font-size="11" text-anchor="end">${esc(l)}</text>`).join("");
  const every = Math.max(1, Math.ceil(30 / cw));
  labels += g.cols.map((l, j) => (j % every ? "" : `<text x="${LB + j * cw + cw / 2}" y="${TP - 5}" font-size="10" text-anchor="middle">${esc(blocks ? l.split("-")[0] : l)}</text>`)).join("");
  const H = TP + g.rows.length * ch;
  const steps = g.max <= 4 ? Array.from({ length: g.max + 1 }, (_, k) => k) : [0, 0.25, 0.5, 0.75, 1].map((f) => Math.round(f * g.max));
  const scale = steps.map((v, k) => `<rect class="heat-key" x="${LB + k * 50}" y="${H + 10}" width="50" height="10" fill="${heat(v, g.max)}" stroke="#ccc"/><text x="${LB + k * 50 + 25}" y="${H + 32}" font-size="10" text-anchor="middle">${v}</text>`).join("")
    + `<rect x="${LB + 270}" y="${H + 10}" width="20" height="10" fill="#f2f2f2" stroke="#ccc"/><text x="${LB + 294}" y="${H + 19}" font-size="10">${blocks ? "no meter heard that round" : "not heard that round"}</text>`;
  const axisName = blocks ? `<text x="${LB - 6}" y="${TP - 5}" font-size="10" text-anchor="end">round \\ block</text>` : `<text x="${LB - 6}" y="${TP - 5}" font-size="10" text-anchor="end">meter \\ round</text>`;
  const what = blocks
    ? `How many meters reported each block missing, round by round (the patent method polls every unfinished meter; the rows are rounds, the columns the image's ${r.image.blocks} blocks${g.binned > 1 ? `, ${g.binned} to a column, each showing its worst block` : ""}). A block still dark in a later round was lost again, or its meter was off. A grey row: a round in which no meter's status report was heard.${unheard(g)}`
    : `Each meter's deficit, round by round, as it answered the concentrator: the useful repair blocks it still needed (DEFICIT), or the blocks missing in its status report when it was served plain; 0 when it answered complete. Grey: not heard that round (finished, off, or silent); a column all grey is a round in which no unfinished meter answered the group query, so the campaign went on to activate and left the read-back to find who was still short. Round 0: the answers to the control's query, before the first round.${unheard(g)}`;
  return `<svg class="chart" id="heatmap" xmlns="http://www.w3.org/2000/svg" width="${Math.max(LB + g.cols.length * cw + 20, 420)}" height="${H + 40}" role="img" aria-label="${blocks ? "missing blocks by round" : "deficits by round"}">${axisName}${labels}${cells}${scale}</svg><p class="caption">${what}</p>`;
}

const scaled = (v: number, scaler: number) => (scaler < 0 ? (v / 10 ** -scaler).toFixed(-scaler) : String(v * 10 ** scaler));

/** Per meter: its register over the day and after the update, and its load-profile intervals. */
function readingsChart(r: RunResult): string {
  const rs = r.meterReadings.filter((m) => m.registers.length || m.intervals.length).slice(0, LANES_MAX);
  if (!rs.length) return "<p>No readings.</p>";
  const RH = 34, gap = 8, T = 16, LB = 64, PW = 330, P2 = LB + PW + 60;
  let tEnd = DAY0 + 3600;
  for (const m of rs) for (const [t] of [...m.registers, ...m.intervals]) tEnd = Math.max(tEnd, t + (m.intervals.length ? 900 : 0));
  const hMax = (tEnd - DAY0) / 3600;
  const hx = (t: number, x0: number) => x0 + (PW * Math.max(0, (t - DAY0) / 3600)) / hMax;
  // the campaign on the day's clock (the clock was set to DAY0 at clockSetS)
  const c0 = DAY0 + r.campaignStartS - r.clockSetS, c1 = c0 + (r.timeline.length ? r.timeline[r.timeline.length - 1].t : 0);
  let out = "";
  rs.forEach((m, i) => {
    const top = T + i * (RH + gap), base = top + RH;
    const kind = r.meters.find((x) => x.id === m.id)?.kind ?? "";
    const vs = m.registers.map(([, v]) => v), lo = Math.min(...vs), hi = Math.max(...vs);
    const yv = (v: number) => base - 2 - (RH - 4) * (hi > lo ? (v - lo) / (hi - lo) : 0.5);
    const reg = m.registers.map(([t, v]) => `${fx(hx(t, LB))},${fx(yv(v))}`).join(" ");
    const last = m.registers[m.registers.length - 1];
    const pMax = Math.max(1, ...m.intervals.map(([, v]) => v));
    const bw = Math.max(0.5, (PW * 0.25) / hMax - 0.3);
    const bars = m.intervals.map(([t, v]) => `<rect class="profile-bar" x="${fx(hx(t, P2))}" y="${fx(base - (RH * v) / pMax)}" width="${fx(bw)}" height="${fx(Math.max(0.5, (RH * v) / pMax))}" fill="#e08a00"/>`).join("");
    out += `<g class="reading-row" data-meter="${m.id}">`
      + `<rect x="${LB}" y="${top}" width="${PW}" height="${RH}" fill="#fafafa" stroke="#ddd"/><rect x="${fx(hx(c0, LB))}" y="${top}" width="${fx(Math.max(1, hx(c1, LB) - hx(c0, LB)))}" height="${RH}" fill="#d6f5d6"/>`
      + (m.registers.length ? `<polyline class="register-line" points="${reg}" fill="none" stroke="#1f6fd1" stroke-width="1.5"/>` : "")
      + `<rect x="${P2}" y="${top}" width="${PW}" height="${RH}" fill="#fafafa" stroke="#ddd"/>${bars}`
      + `<text x="${LB - 6}" y="${top + 14}" font-size="12" text-anchor="end">${m.id}</text><text x="${LB - 6}" y="${top + 27}" font-size="10" text-anchor="end" fill="#666">${esc(kind)}</text>`
      + (last ? `<text x="${LB + PW + 4}" y="${top + 14}" font-size="10">${scaled(last[1], m.scaler)}</text><text x="${LB + PW + 4}" y="${top + 26}" font-size="10" fill="#666">${esc(m.unit)}</text>` : "")
      + `<text x="${P2 + PW + 4}" y="${top + 14}" font-size="10">max ${scaled(pMax, m.scaler)}</text><text x="${P2 + PW + 4}" y="${top + 26}" font-size="10" fill="#666">${esc(m.unit)}/15 min</text></g>`;
  });
  const H = T + rs.length * (RH + gap);
  let axis = `<text x="${LB}" y="11" font-size="11" font-weight="bold">register (${rs.reduce((a, m) => a + m.registers.length, 0)} readings)</text><text x="${P2}" y="11" font-size="11" font-weight="bold">load profile, 15-minute intervals (${rs.reduce((a, m) => a + m.intervals.length, 0)})</text>`;
  for (const h of niceTicks(hMax, 4).filter((h) => h <= hMax)) for (const x0 of [LB, P2]) axis += `<text x="${fx(hx(DAY0 + h * 3600, x0))}" y="${H + 8}" font-size="10" text-anchor="middle">${h} h</text>`;
  return `<svg class="chart" id="readings" xmlns="http://www.w3.org/2000/svg" width="${P2 + PW + 70}" height="${H + 16}" role="img" aria-label="readings and load profiles">${axis}${out}</svg>
<p class="caption">Left: each meter's register as the concentrator read it, in hours of the bench's day (its own scale, last value on the right; green: the update campaign, after which the register is read again). Right: its load-profile intervals, the consumption in each 15 minutes of the day (its own scale, largest interval on the right). ${r.readings.collected} register readings were collected, ${r.readings.missed} missed and retried by later rounds; the readings took ${secs(r.airtimeByPhase.readings ?? 0)} of airtime.</p>`;
}

function airtimeChart(r: RunResult): string {
  const items = phaseLegend(r);
  const row = 22, LB = 100;
  const max = Math.max(1, ...items.map((e) => e.airtimeMs));
  const total = items.reduce((a, e) => a + e.airtimeMs, 0) || 1;
  const bars = items.map((e, i) => {
    const w = ((W - LB - 160) * e.airtimeMs) / max;
    return `<g class="airtime-bar" data-phase="${esc(e.phase)}"><text x="${LB - 6}" y="${i * row + 16}" font-size="12" text-anchor="end">${esc(e.phase)}</text><rect x="${LB}" y="${i * row + 4}" width="${fx(w)}" height="16" fill="${e.colour}" stroke="#888"/><text x="${fx(LB + w + 6)}" y="${i * row + 16}" font-size="12">${secs(e.airtimeMs)} (${((100 * e.airtimeMs) / total).toFixed(0)}%)</text></g>`;
  }).join("");
  return `<svg class="chart" id="airtime" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${items.length * row + 8}" role="img" aria-label="airtime per phase">${bars}</svg>`;
}

export function reportHtml(r: RunResult): string {
  const rows = summaryRows(r);
  const table = `<table><thead><tr>${rows[0].map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.slice(1).map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
  const coded = r.scenario.method !== "patent";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>meterline bench: ${esc(r.scenario.name)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:64em}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3}.ok{color:#2a7a2a}.bad{color:#b00020}pre{background:#f7f7f7;padding:8px;font-size:12px;white-space:pre-wrap}.caption{font-size:13px;color:#333;max-width:56em}svg.chart{display:block;margin:.5em 0}</style></head>
<body>
<h1>meterline bench: ${esc(r.scenario.name)}</h1>
<p class="${r.ok ? "ok" : "bad"}"><strong>${r.ok ? "Passed" : "Failed"}</strong>${r.ok ? ": every meter runs the new program, confirmed, and every reading is accounted for." : `: ${esc(r.reason)}`}</p>
<p>${r.meters.length} meters, ${esc(r.scenario.modem)} at ${r.scenario.bitRate} bit/s, ${(r.scenario.loss.p * 100).toFixed(0)}% loss in bursts of ${r.scenario.loss.meanBurst} frames on average, seed ${r.scenario.seed}; image ${r.image.size} bytes in ${r.image.blocks} blocks, ${esc(r.scenario.method)} method.</p>
<h2>Campaign progress over virtual time</h2>
${progressChart(r)}
${stripeCaption(r)}
<h2>Each meter over the campaign</h2>
${laneChart(r)}
<p class="caption">One lane per meter, on the chart's time axis: the blocks it holds${coded ? " (a coded meter's lane jumps to full when it decodes the repair blocks)" : ""}, hatched while it is off, its power cuts, the power coming back and its restarts through the boot routine; on the right, where its campaign ended.</p>
<h2>${coded ? "Deficits by round" : "Missing blocks by round"}</h2>
${heatMap(r)}
<h2>Readings and load profiles</h2>
${readingsChart(r)}
<h2>Airtime per phase</h2>
${airtimeChart(r)}
<h2>Meters</h2>
${table}
<h2>Totals</h2>
<pre>${esc(totalsLines(r).join("\n"))}</pre>
<h2>Events</h2>
<p>Times in seconds from the campaign's start, as on the chart's axis (negative: during the day of readings before it). The events inside the campaign are marked on the chart by their number; the restarts are on the meters' lanes.</p>
<ol>${r.events.map((e) => { const t = onAxis(r, e.t); return `<li>${t >= 0 ? "+" : ""}${t.toFixed(1)} s: ${esc(e.text)}</li>`; }).join("")}</ol>
</body></html>
`;
}
