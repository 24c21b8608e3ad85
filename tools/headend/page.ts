/*
 * The head-end's live page (docs/headend.md, The live page): plain node:http on --http PORT.
 *
 *   /         the page: concentrators, campaigns (progress bar, phase, failed meters), meters
 *             with their kind, version and each register's newest reading, and a plot of each
 *             meter's register and load profile over its last two days of readings (inline SVG);
 *             meters a page of PAGE_SIZE at a time by id (?page=N, from 1), of one concentrator
 *             (?concentrator=ID) or all, so a network of thousands costs the database and the
 *             browser one page
 *   /live     the same sections alone (the same ?page and ?concentrator): the page fetches them
 *             again when something changed
 *   /events   Server-Sent Events: "change" when readings were stored, a campaign's progress or a
 *             concentrator's status changed, or a registry was asked (Headend.watch), at most
 *             five a second, so a burst of batches costs the page one fetch
 *   /state    what the page shows, as JSON (concentrators, meters, newest readings, campaigns)
 *
 * Everything is drawn on the server from the database and the head-end's campaign reports, so
 * the page works without its script (it then shows the state when it was loaded) and the
 * script only swaps the sections in. Read-only: commands go over MQTT.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { CampaignReport } from "./commands";
import type { Headend, HeadendEvent } from "./core";
import type { ConcentratorRow, LastReading, MeterRow, Point } from "./db";

/** The plots look back this far from each meter's newest reading. */
export const PLOT_WINDOW_S = 2 * 86_400;
/** Meters on one page, each with its plot. */
export const PAGE_SIZE = 100;
/** The shortest time between two "change" events. */
const CHANGE_EVERY_MS = 200;

const KIND_NAMES: Record<number, string> = { 1: "electricity", 2: "water", 3: "gas" };

export interface PageMeter extends MeterRow { readings: LastReading[] }
export interface PageCampaign extends CampaignReport { concentrator: string }
export interface PageConcentrator extends ConcentratorRow { attached: boolean; storedSinceAttached: number }

/** Which meters the page shows: page `page` (from 1) of PAGE_SIZE, of one concentrator or all. */
export interface PageView { concentrator?: string; page: number }

/** A view from the address's query (?page=N&concentrator=ID); anything else is the first page of all. */
export function viewOf(query: URLSearchParams): PageView {
  const page = Number(query.get("page") ?? "1"), c = query.get("concentrator");
  return { page: Number.isInteger(page) && page >= 1 ? page : 1, ...(c ? { concentrator: c } : {}) };
}

/** What the page shows. */
export interface PageState {
  concentrators: PageConcentrator[];
  /** The view's page of meters, by id. */
  meters: PageMeter[];
  campaigns: PageCampaign[];
  view: PageView;
  /** Meters in the view (of its concentrator, or all), on every page. */
  meterCount: number;
}

/** The database's overview with the head-end's own: which concentrators are attached, their campaigns. */
export async function pageState(h: Headend, view: PageView = { page: 1 }): Promise<PageState> {
  const o = await h.db.overview({ concentrator: view.concentrator, offset: (view.page - 1) * PAGE_SIZE, limit: PAGE_SIZE });
  const byId = new Map(h.attached.map((a) => [a.id, a]));
  const meters = new Map<number, PageMeter>(o.meters.map((m) => [m.id, { ...m, readings: [] }]));
  // the newest readings of the page's meters (a meter is listed once its concentrator's registry
  // is: the first pull asks for it)
  for (const r of o.last) meters.get(r.meter)?.readings.push(r);
  return {
    concentrators: o.concentrators.map((c) => ({ ...c, attached: byId.has(c.id), storedSinceAttached: byId.get(c.id)?.stored ?? 0 })),
    meters: [...meters.values()].sort((a, b) => a.id - b.id),
    campaigns: h.attached.filter((a) => a.report).map((a) => ({ concentrator: a.id, ...a.report! })),
    view, meterCount: o.meterCount,
  };
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fx = (v: number) => (Math.round(v * 10) / 10).toString();

/** Unix seconds as the page writes them: "2027-01-15 08:01:00Z". */
export function timeText(unixS: number): string {
  return new Date(unixS * 1000).toISOString().slice(0, 19).replace("T", " ") + "Z";
}

/** A load-profile interval's OBIS: group D is 29 (1-0:1.29.0), the delta over the period. */
export const isProfile = (obis: string) => /^\d+-\d+:\d+\.29\.\d+$/.test(obis);

/**
 * A meter's plot: its registers as lines (one per OBIS, each on its own scale) on the left,
 * its load-profile intervals as bars on the right, both over the same time span.
 */
export function plotSvg(meter: number, points: Point[]): string {
  const W = 220, H = 56, GAP = 24;
  if (!points.length) return `<svg class="plot" data-meter="${meter}" width="${2 * W + GAP}" height="${H}" role="img" aria-label="no readings yet"><text x="4" y="${H / 2}" font-size="11" fill="#888">no readings yet</text></svg>`;
  const t0 = points[0].time, t1 = Math.max(points[points.length - 1].time, t0 + 1);
  const x = (t: number, x0: number) => x0 + 2 + ((W - 4) * (t - t0)) / (t1 - t0);
  const regs = new Map<string, Point[]>(), prof: Point[] = [];
  for (const p of points) {
    if (isProfile(p.obis)) prof.push(p);
    else { const l = regs.get(p.obis) ?? []; l.push(p); regs.set(p.obis, l); }
  }
  let lines = "";
  const colours = ["#1f6fd1", "#7b3fb5", "#2a9d4b"];
  [...regs.entries()].forEach(([obis, l], i) => {
    let lo = Infinity, hi = -Infinity;
    for (const p of l) { lo = Math.min(lo, p.value); hi = Math.max(hi, p.value); }
    const y = (v: number) => H - 3 - (H - 6) * (hi > lo ? (v - lo) / (hi - lo) : 0.5);
    const pts = l.map((p) => `${fx(x(p.time, 0))},${fx(y(p.value))}`).join(" ");
    lines += `<polyline class="register-line" data-obis="${esc(obis)}" data-points="${l.length}" points="${pts}" fill="none" stroke="${colours[i % colours.length]}" stroke-width="1.5"><title>${esc(obis)}: ${l.length} readings, ${esc(lo)} to ${esc(hi)} ${esc(l[0].unit)}</title></polyline>`;
  });
  let bars = "";
  if (prof.length) {
    const pMax = Math.max(...prof.map((p) => p.value), 1e-9);
    const bw = Math.max(1, Math.min(12, (W - 4) / Math.max(prof.length, 1) - 0.5));
    for (const p of prof) {
      const h = Math.max(0.5, ((H - 6) * Math.max(0, p.value)) / pMax);
      bars += `<rect class="profile-bar" data-time="${p.time}" data-value="${p.value}" x="${fx(x(p.time, W + GAP) - bw / 2)}" y="${fx(H - 3 - h)}" width="${fx(bw)}" height="${fx(h)}" fill="#e08a00"><title>${esc(p.obis)} ${timeText(p.time)}: ${esc(p.value)} ${esc(p.unit)}</title></rect>`;
    }
  }
  return `<svg class="plot" data-meter="${meter}" xmlns="http://www.w3.org/2000/svg" width="${2 * W + GAP}" height="${H}" role="img" aria-label="meter ${meter}: registers and load profile from ${timeText(t0)} to ${timeText(t1)}">`
    + `<rect x="0" y="0" width="${W}" height="${H}" fill="#fafafa" stroke="#ddd"/><rect x="${W + GAP}" y="0" width="${W}" height="${H}" fill="#fafafa" stroke="#ddd"/>`
    + (lines || `<text x="4" y="14" font-size="10" fill="#888">no register readings</text>`)
    + (bars || `<text x="${W + GAP + 4}" y="14" font-size="10" fill="#888">no load profile yet</text>`)
    + `</svg>`;
}

function concentratorsHtml(s: PageState): string {
  if (!s.concentrators.length) return `<p>No concentrator yet.</p>`;
  const rows = s.concentrators.map((c) => `<tr class="concentrator" data-concentrator="${esc(c.id)}" data-status="${esc(c.status)}"><td><a class="view-concentrator" href="?concentrator=${encodeURIComponent(c.id)}">${esc(c.id)}</a></td><td>${esc(c.port ?? "")}</td>`
    + `<td class="status status-${esc(c.status)}">${esc(c.status)}${c.attached ? "" : " (not attached)"}</td><td>${esc(timeText(Math.floor(c.last_seen / 1000)))}</td><td class="stored">${c.storedSinceAttached}</td></tr>`).join("");
  return `<table><thead><tr><th>concentrator</th><th>console</th><th>status</th><th>last seen</th><th>new readings since attached</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function campaignsHtml(s: PageState): string {
  if (!s.campaigns.length) return `<p class="no-campaign">No campaign since the head-end started.</p>`;
  return s.campaigns.map((c) => {
    const pct = c.meters ? (100 * c.complete) / c.meters : 0;
    const failed = c.failedMeters.length ? `<ul class="failed">${c.failedMeters.map((f) => `<li data-meter="${f.meter}">meter ${f.meter}: ${esc(f.error)} (E${f.code})</li>`).join("")}</ul>` : "";
    return `<div class="campaign" data-concentrator="${esc(c.concentrator)}" data-phase="${esc(c.phase)}" data-complete="${c.complete}" data-meters="${c.meters}" data-running="${c.running}">`
      + `<h3>Concentrator ${esc(c.concentrator)}${c.imageId !== null ? `, image ${c.imageId}` : ""}</h3>`
      + `<div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="${c.meters}" aria-valuenow="${c.complete}"><div class="bar-done" style="width:${fx(pct)}%"></div></div>`
      + `<p class="campaign-summary"><span class="phase">${esc(c.phase)}</span>, round ${c.round}: <span class="complete">${c.complete} of ${c.meters} meters updated</span>, ${c.failed} failed${c.error ? `, ${esc(c.error)}` : ""}</p>`
      + `<p class="campaign-figures">${c.blocks} blocks, ${c.polls} polls, ${c.frames} frames, ${c.bytes} bytes, about ${c.airtimeS} s on air</p>${failed}</div>`;
  }).join("");
}

/** A link to page `page` of the view's concentrator (or all). */
function pageHref(v: PageView, page: number): string {
  return `?${v.concentrator !== undefined ? `concentrator=${encodeURIComponent(v.concentrator)}&` : ""}page=${page}`;
}

/** Where the page is among the view's meters, with links to the pages before and after and to all meters. */
function pagerHtml(s: PageState): string {
  const v = s.view, pages = Math.max(1, Math.ceil(s.meterCount / PAGE_SIZE)), first = (v.page - 1) * PAGE_SIZE;
  const of = v.concentrator !== undefined ? ` of concentrator ${esc(v.concentrator)} (<a class="view-all" href="?page=1">all meters</a>)` : "";
  const where = s.meters.length ? `meters ${first + 1} to ${first + s.meters.length} of ${s.meterCount}${of}` : `no meters on page ${v.page} of ${pages}: ${s.meterCount} meters${of}`;
  const prev = v.page > 1 ? ` <a class="page-prev" href="${pageHref(v, Math.min(v.page - 1, pages))}">previous</a>` : "";
  const next = v.page < pages ? ` <a class="page-next" href="${pageHref(v, v.page + 1)}">next</a>` : "";
  return `<p class="pager" data-page="${v.page}" data-pages="${pages}" data-meters="${s.meterCount}">Page ${v.page} of ${pages}: ${where}.${prev}${next}</p>`;
}

function metersHtml(s: PageState, plots: Map<number, string>): string {
  if (!s.meterCount) return `<p>No meter yet: the registry and the readings come with the first pull.</p>`;
  if (!s.meters.length) return pagerHtml(s);
  const rows = s.meters.map((m) => {
    const readings = m.readings.map((r) => `<li class="reading" data-obis="${esc(r.obis)}" data-time="${r.time}" data-value="${r.value}">${esc(r.obis)} <b>${esc(r.value)}</b> ${esc(r.unit)} <time>${timeText(r.time)}</time>${r.status ? ` <span class="bad">status ${r.status}</span>` : ""}</li>`).join("");
    return `<tr class="meter" data-meter="${m.id}" data-concentrator="${esc(m.concentrator)}"><td class="id">${m.id}</td><td>${esc(m.concentrator)}</td><td class="kind">${KIND_NAMES[m.kind] ?? "not identified"}</td>`
      + `<td class="version">${m.version ? `v${m.version}` : "unknown"}</td><td>${m.last_seen ? `${m.last_seen} s` : "not yet"}</td><td>${m.quality}</td>`
      + `<td><ul class="readings">${readings || "<li>none yet</li>"}</ul></td><td>${plots.get(m.id) ?? ""}</td></tr>`;
  }).join("");
  return `${pagerHtml(s)}<table><thead><tr><th>meter</th><th>concentrator</th><th>kind</th><th>version</th><th title="the registry: its last answer, in seconds since the concentrator started">last heard (uptime)</th><th>link quality</th><th>newest readings</th><th>register (left) and load profile (right), last two days</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The live sections (what /live answers and the page swaps in). */
export async function liveHtml(h: Headend, view: PageView = { page: 1 }, s?: PageState): Promise<string> {
  s ??= await pageState(h, view);
  const plots = new Map<number, string>();
  for (const m of s.meters) {
    const newest = Math.max(0, ...m.readings.map((r) => r.time));
    plots.set(m.id, plotSvg(m.id, await h.db.series(m.id, newest - PLOT_WINDOW_S)));
  }
  return `<section id="concentrators"><h2>Concentrators</h2>${concentratorsHtml(s)}</section>`
    + `<section id="campaigns"><h2>Campaigns</h2>${campaignsHtml(s)}</section>`
    + `<section id="meters"><h2>Meters (${s.meterCount})</h2>${metersHtml(s, plots)}</section>`;
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em;margin:0}header{display:flex;gap:1em;align-items:baseline}
#link{font-size:12px;padding:2px 8px;border-radius:8px;background:#eee;color:#666}body[data-live=connected] #link{background:#d6f5d6;color:#185c18}
body[data-live=reconnecting] #link{background:#fde2e2;color:#8b1a1a}table{border-collapse:collapse;margin:.5em 0}th,td{border-bottom:1px solid #e4e4e4;padding:4px 8px;text-align:left;vertical-align:top}
th{font-weight:600;font-size:12px;color:#555}.status-online{color:#185c18}.status-offline{color:#8b1a1a}ul.readings{list-style:none;margin:0;padding:0}ul.readings li{white-space:nowrap}
time{color:#666;font-size:12px}.bad{color:#8b1a1a}.campaign{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;margin:.5em 0;max-width:40em}.campaign h3{margin:.2em 0;font-size:1em}
.bar{height:14px;background:#eee;border-radius:7px;overflow:hidden}.bar-done{height:100%;background:#2a9d4b}.campaign-figures{color:#666;font-size:12px}`;

const SCRIPT = `(function () {
  var live = document.getElementById("live"), busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch("live" + location.search, { cache: "no-store" }).then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (t) { live.innerHTML = t; document.body.setAttribute("data-updated", String(Date.now())); })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var link = document.getElementById("link"), es = new EventSource("events");
  es.onopen = function () { document.body.setAttribute("data-live", "connected"); link.textContent = "live"; refresh(); };
  es.onerror = function () { document.body.setAttribute("data-live", "reconnecting"); link.textContent = "reconnecting"; };
  es.addEventListener("change", refresh);
})();`;

/** The whole page. */
export async function pageHtml(h: Headend, view: PageView = { page: 1 }): Promise<string> {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>meterline head-end</title><meta name="viewport" content="width=device-width"><style>${STYLE}</style></head>`
    + `<body data-live="loading"><header><h1>meterline head-end</h1><span id="link">connecting</span></header><div id="live">${await liveHtml(h, view)}</div><script>${SCRIPT}</script></body></html>`;
}

export interface PageServer {
  /** Where to open it: http://host:port/. */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the page of head-end `h` on `port` (0: any free port) of `host`. */
export async function startPage(h: Headend, port: number, host = "0.0.0.0"): Promise<PageServer> {
  const clients = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | null = null, kinds = new Set<HeadendEvent["kind"]>();
  const flush = () => {
    timer = null;
    const data = JSON.stringify({ kinds: [...kinds] });
    kinds = new Set();
    for (const c of clients) c.write(`event: change\ndata: ${data}\n\n`);
  };
  const unwatch = h.watch((e) => {
    kinds.add(e.kind);
    if (!timer) timer = setTimeout(flush, CHANGE_EVERY_MS);
  });
  // a comment now and then keeps proxies from closing an idle stream
  const keepAlive = setInterval(() => { for (const c of clients) c.write(": still here\n\n"); }, 15_000);

  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
    res.end(body);
  };
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://x"), path = url.pathname, view = viewOf(url.searchParams);
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain; charset=utf-8", `the page is read-only: ${req.method} is not answered (commands go over MQTT)\n`);
    if (path === "/") return send(res, 200, "text/html; charset=utf-8", await pageHtml(h, view));
    if (path === "/live") return send(res, 200, "text/html; charset=utf-8", await liveHtml(h, view));
    if (path === "/state") return send(res, 200, "application/json", JSON.stringify(await pageState(h, view)));
    if (path === "/events") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
      res.write("retry: 2000\n\n");
      clients.add(res);
      req.on("close", () => clients.delete(res));
      return;
    }
    send(res, 404, "text/plain; charset=utf-8", `no such page: ${path} (the page is /, its parts /live, /events and /state)\n`);
  };
  const server: Server = createServer((req, res) => {
    serve(req, res).catch((e: Error) => {
      h.log(`headend: page: ${req.url}: ${e.message}`);
      if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", `the head-end could not draw the page: ${e.message}\n`);
      else res.end();
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) => reject(new Error(`the page cannot listen on port ${port}: ${e.code === "EADDRINUSE" ? "the port is in use (--http N for another, 0 for any free port)" : e.code ?? e.message}`)));
      server.listen(port, host, () => resolve());
    });
  } catch (e) {
    unwatch();
    clearInterval(keepAlive);
    throw e;
  }
  const a = server.address() as AddressInfo;
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return {
    url: `http://${shown}:${a.port}/`,
    close: () => new Promise<void>((resolve) => {
      unwatch();
      clearInterval(keepAlive);
      if (timer) clearTimeout(timer);
      for (const c of clients) c.end();
      clients.clear();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
