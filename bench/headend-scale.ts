/*
 * npm run bench:headend -- [--concentrators 10] [--meters 1000] [--intervals 24] [--batch 1000]
 *                          [--db FILE] [--json FILE]
 *
 * The head-end's ingest at scale (docs/headend.md, Scale): `--concentrators` simulated
 * concentrators of `--meters` meters each, every meter with `--intervals` 15-minute load-profile
 * intervals waiting in its concentrator's store, drained by the head-end's own code
 * (tools/headend/core.ts Headend: attach, pull, parse, store with the cursor in one transaction,
 * publish, acknowledge) into a file-backed SQLite database (db.ts, synchronous = FULL, as the
 * head-end runs) and the embedded broker (mqtt.ts: aedes on TCP, every reading retained), with
 * one subscriber (an mqtt.js client on TCP in a process of its own, as any consumer:
 * bench/headend-subscriber.ts) counting each reading it receives.
 *
 * A simulated concentrator is the console the head-end talks to (the ConcentratorConsole of a
 * board or of the bench): its store's lines are made before the clock starts, in the readings
 * file's format ("meter,obis,value,unit,scaler,time,status"), and each export is answered by
 * the firmware's own exportReadings (firmware/concentrator/readings.ts), so the head-end parses
 * exactly what a concentrator prints. The figures are the head-end's: the concentrators' side
 * (a serial line, the concentrator's CPU) is not simulated in time.
 *
 * Figures: readings stored a second (every pull done: committed and acknowledged) and
 * readings a second end to end (the last pull acknowledged and the subscriber's last reading counted), with where the time
 * went: parsing the exports, the database's transactions, the publishes (measured by
 * timing those calls of one run), and the subscriber's lag.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { READING_TOPIC } from "./headend-subscriber";
import { cli, int, isMain, outputFolder, UsageError, writeOutput, type Parsed, type Tool } from "../tools/cli/cli";
import { Headend, type ConcentratorConsole } from "../tools/headend/core";
import { HeadendDb } from "../tools/headend/db";
import { ThreadedDb } from "../tools/headend/db-thread";
import { embeddedBroker, externalBroker } from "../tools/headend/mqtt";
import type { Answer } from "../tools/console/session";
import { exportReadings } from "../firmware/concentrator/readings";
import type { ReadingStore } from "../firmware/concentrator/store";

export interface ScaleOptions {
  concentrators: number;
  meters: number;
  /** 15-minute intervals a meter. */
  intervals: number;
  /** Readings an export asks for (the head-end's --batch). */
  batch: number;
  /** The SQLite file; none: one in a fresh temporary folder, removed after. */
  db?: string;
  /** An external broker (mqtt://host:port) instead of the embedded one. */
  mqtt?: string;
  log?: (line: string) => void;
}

export interface ScaleResult {
  concentrators: number;
  meters: number;
  intervals: number;
  batch: number;
  readings: number;
  /** Rows in the database after the run, and the subscriber's count of reading messages. */
  stored: number;
  received: number;
  /** Retained reading messages a new subscriber gets: one a meter's register. */
  retained: number;
  /** From the first export to every pull done (committed, acknowledged), and to the subscriber's last reading. */
  storedS: number;
  endToEndS: number;
  storedPerS: number;
  endToEndPerS: number;
  /** Time the database's thread spent in its store calls, and in the console's answers (the simulated concentrators: exportReadings). */
  dbS: number;
  consoleS: number;
  dbBytes: number;
  node: string;
}

const PROFILE_OBIS = "1-0:1.29.0";
/** Wh in the readings file's unit codes (firmware/concentrator/readings.ts UNITS). */
const WH = 30;
const T0 = 1_800_000_000;

/** A concentrator's readings store in memory: lines by position, as the firmware's since() walks them. */
function memoryStore(lines: string[]): ReadingStore {
  let acked = 0;
  return {
    append(line) { lines.push(line); },
    forEach(fn) { lines.forEach((l) => fn(l)); },
    since(from, max, fn) {
      const end = Math.min(lines.length, from + max);
      for (let p = from; p < end; p++) fn(lines[p], p);
      return Math.max(from, end);
    },
    ack(pos) { if (pos > lines.length) return 1; acked = Math.max(acked, pos); return 0; },
    acked: () => acked,
    end: () => lines.length,
    start: () => 0,
  };
}

/**
 * A simulated concentrator's console: the few calls the head-end makes while pulling
 * (config.id, export, ack, meters, progress, the store's ends), answered as the board's
 * console answers them; anything else throws, as an unknown function would.
 */
export class SimulatedConcentrator implements ConcentratorConsole {
  readonly port: string;
  readonly store: ReadingStore;
  /** Time spent answering (the concentrator's side), ms. */
  busyMs = 0;
  private readonly meterIds: number[];

  constructor(readonly id: number, meters: number, intervals: number) {
    this.port = `sim:concentrator-${id}`;
    this.meterIds = Array.from({ length: meters }, (_, k) => id * 100_000 + k + 1);
    const lines: string[] = [];
    // interval by interval, each meter's consumption in it (Wh, scaler 0), as profile rounds file them
    for (let i = 0; i < intervals; i++) {
      for (const m of this.meterIds) lines.push(`${m},${PROFILE_OBIS},${100 + ((m * 7 + i * 13) % 400)},${WH},0,${T0 + i * 900},0`);
    }
    this.store = memoryStore(lines);
  }

  async command(js: string): Promise<Answer> {
    const t = performance.now();
    try { return this.answer(js); } finally { this.busyMs += performance.now() - t; }
  }

  private answer(js: string): Answer {
    let m: RegExpExecArray | null;
    if (js === "meterline.config.id") return { lines: [], value: String(this.id) };
    if ((m = /^meterline\.export\("json",(\d+),(\d+)\)$/.exec(js))) {
      const lines: string[] = [];
      const next = exportReadings(this.store, "json", (l) => lines.push(l), +m[1], +m[2]);
      return { lines, value: String(next) };
    }
    if ((m = /^meterline\.ack\((\d+)\)$/.exec(js))) return { lines: [], value: String(this.store.ack(+m[1])) };
    if (js === "meterline.meters()") return { lines: this.meterIds.map((id) => `${id} kind 1 v1 ok 1 missed 0 seen 10 q 30`), value: "0" };
    if (js === "meterline.progress()") return { lines: ["meterline: no campaign"], value: "0" };
    if (js.startsWith("[meterline.ctx.store.start(),meterline.ctx.store.end()]")) return { lines: [], value: `"${this.store.start()},${this.store.end()}"` };
    const error = `Uncaught Error: the simulated concentrator does not answer ${js.slice(0, 40)}`;
    return { lines: [error], error };
  }

  async close(): Promise<void> { /* nothing held */ }
}

/**
 * The subscriber in its own process (bench/headend-subscriber.ts), subscribed when this
 * resolves; `result` resolves with what it counted once it has `total` readings or is stopped.
 */
async function subscriber(url: string, total: number): Promise<{ child: ChildProcess; result: Promise<{ received: number; lastAt: number }> }> {
  const child = spawn(process.execPath, ["--import", "tsx", new URL("./headend-subscriber.ts", import.meta.url).pathname, "--url", url, "--total", String(total)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  let subscribed: () => void = () => undefined;
  const ready = new Promise<void>((r, j) => { subscribed = r; child.once("exit", (c) => j(new Error(`the subscriber exited (${c}) before it subscribed`))); });
  const result = new Promise<{ received: number; lastAt: number }>((r, j) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.startsWith("subscribed\n")) subscribed();
      const m = /^\{.*\}$/m.exec(out);
      if (m) r(JSON.parse(m[0]) as { received: number; lastAt: number });
    });
    child.once("exit", (c) => j(new Error(`the subscriber exited (${c}) without its count`)));
  });
  result.catch(() => undefined);
  await ready;
  return { child, result };
}


/** One run: builds the concentrators, the database, the broker and the subscriber; drains every store; counts. */
export async function runScale(o: ScaleOptions): Promise<ScaleResult> {
  const log = o.log ?? (() => undefined);
  const dir = o.db ? null : mkdtempSync(join(tmpdir(), "headend-scale-"));
  const file = o.db ?? join(dir!, "headend.db");
  // the head-end's SQLite, as it runs: on a thread of its own (db-thread.ts)
  const db = await ThreadedDb.open(file);
  const broker = o.mqtt ? await externalBroker(o.mqtt, `scale-headend-${process.pid}`) : await embeddedBroker(0, "127.0.0.1");
  const sims = Array.from({ length: o.concentrators }, (_, i) => new SimulatedConcentrator(i + 1, o.meters, o.intervals));
  const total = o.concentrators * o.meters * o.intervals;
  const sub = await subscriber(broker.url, total);
  try {
    const h = new Headend({ db, mqtt: broker, batch: o.batch, timeoutMs: 60_000 });
    for (const s of sims) await h.attach(s);
    log(`bench:headend: ${o.concentrators} concentrators × ${o.meters} meters × ${o.intervals} intervals = ${total.toLocaleString("en")} readings waiting; draining`);
    // wall times in ms, comparable with the subscriber's (performance.timeOrigin + performance.now())
    const now = () => performance.timeOrigin + performance.now();
    const t0 = now();
    const got = await h.pullAll();
    const storedAt = now();
    if (got !== total) throw new Error(`the head-end stored ${got} new readings of ${total}`);
    // every concentrator's store acknowledged to its end: what was stored was also let go there
    for (const s of sims) if (s.store.acked() !== s.store.end()) throw new Error(`concentrator ${s.id}'s store acknowledged to ${s.store.acked()} of ${s.store.end()}`);
    const timeout = setTimeout(() => sub.child.kill("SIGTERM"), 120_000 + total / 100);
    const { received, lastAt } = await sub.result;
    clearTimeout(timeout);
    if (received !== total) throw new Error(`the subscriber received ${received} readings of ${total} within the time allowed`);
    // end to end: every reading stored, acknowledged and received (the later of the last pull's
    // acknowledgement and the subscriber's last reading)
    const endAt = Math.max(storedAt, lastAt);
    await h.stop();

    // a subscriber that comes later gets the retained last reading of each meter's register
    const late = await mqtt.connectAsync(broker.url, { clientId: "scale-late" });
    let retained = 0, quiet = Date.now();
    late.on("message", (topic, _p, packet) => { if (packet.retain && READING_TOPIC.test(topic) && !topic.endsWith("/status")) { retained++; quiet = Date.now(); } });
    await late.subscribeAsync("meterline/+/+/+", { qos: 0 });
    while (Date.now() - quiet < 500) await new Promise((r) => setTimeout(r, 100));
    await late.endAsync();

    // the database's share: the time its thread spent in the store calls
    const dbMs = db.storeMs;
    await db.close();
    const check = new HeadendDb(file);
    const stored = (check.db.prepare("SELECT count(*) AS n FROM readings").get() as { n: number }).n;
    check.close();
    const storedS = (storedAt - t0) / 1000, endToEndS = (endAt - t0) / 1000;
    return {
      concentrators: o.concentrators, meters: o.meters, intervals: o.intervals, batch: o.batch,
      readings: total, stored, received, retained,
      storedS: +storedS.toFixed(3), endToEndS: +endToEndS.toFixed(3),
      storedPerS: Math.round(total / storedS), endToEndPerS: Math.round(total / endToEndS),
      dbS: +(dbMs / 1000).toFixed(3), consoleS: +(sims.reduce((a, s) => a + s.busyMs, 0) / 1000).toFixed(3),
      dbBytes: ["", "-wal"].reduce((a, x) => { try { return a + statSync(file + x).size; } catch { return a; } }, 0),
      node: process.version,
    };
  } finally {
    if (sub.child.exitCode === null) sub.child.kill("SIGTERM");
    await broker.close();
    await db.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

export const TOOL: Tool = {
  name: "bench:headend", run: "npm run bench:headend --",
  about: "The head-end's ingest at scale: simulated concentrators' stores of 15-minute load-profile readings\ndrained by the head-end's own pull, store and publish into a file-backed SQLite database and the\nembedded broker (retained), one subscriber counting what it receives. Prints readings a second\nstored and end to end, and where the time went.",
  options: {
    concentrators: { type: "string", value: "N", default: "10", help: "simulated concentrators" },
    meters: { type: "string", value: "N", default: "1000", help: "meters a concentrator" },
    intervals: { type: "string", value: "N", default: "24", help: "15-minute intervals a meter (96: a day)" },
    batch: { type: "string", value: "N", default: "1000", help: "readings an export asks for (the head-end's --batch), 1 to 1000" },
    db: { type: "string", value: "FILE", help: "the SQLite file (made; it must not exist) (default a temporary one, removed after)" },
    mqtt: { type: "string", value: "URL", help: "an external broker (mqtt://host:port: Mosquitto, EMQX) instead of the embedded one; a fresh\none: the late subscriber counts every retained reading it holds" },
    json: { type: "string", value: "FILE", help: "the figures as JSON" },
  },
  examples: ["npm run bench:headend", "npm run bench:headend -- --intervals 96 --json /tmp/headend-bench.json"],
};

async function main({ values: v }: Parsed): Promise<number> {
  const o: ScaleOptions = {
    concentrators: int("--concentrators", v.concentrators as string, 1, 1000)!,
    meters: int("--meters", v.meters as string, 1, 100_000)!,
    intervals: int("--intervals", v.intervals as string, 1, 96 * 31)!,
    batch: int("--batch", v.batch as string, 1, 1000)!,
    db: v.db as string | undefined,
    mqtt: v.mqtt as string | undefined,
    log: (l) => console.log(l),
  };
  if (o.db) {
    outputFolder("--db", o.db);
    let there = false;
    try { statSync(o.db); there = true; } catch { there = false; }
    if (there) throw new UsageError(`--db ${o.db}: the file exists (the benchmark needs an empty database)`);
  }
  if (v.json) outputFolder("--json", v.json as string);
  const r = await runScale(o);
  const rows: [string, string][] = [
    ["readings", `${r.readings.toLocaleString("en")} (${r.concentrators} concentrators × ${r.meters} meters × ${r.intervals} intervals), batches of ${r.batch}`],
    ["stored (committed, acknowledged)", `${r.storedS.toFixed(2)} s: ${r.storedPerS.toLocaleString("en")} readings/s`],
    ["end to end (stored, acknowledged, received)", `${r.endToEndS.toFixed(2)} s: ${r.endToEndPerS.toLocaleString("en")} readings/s`],
    ["in the database's store calls (its thread)", `${r.dbS.toFixed(2)} s`],
    ["in the simulated concentrators' answers", `${r.consoleS.toFixed(2)} s`],
    ["rows, received, retained", `${r.stored.toLocaleString("en")}, ${r.received.toLocaleString("en")}, ${r.retained.toLocaleString("en")}`],
    ["database file", `${(r.dbBytes / 1e6).toFixed(1)} MB`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, x] of rows) console.log(`${k.padEnd(w)}  ${x}`);
  if (v.json) {
    writeOutput("--json", v.json as string, JSON.stringify({ command: `npm run bench:headend -- ${process.argv.slice(2).join(" ")}`.trim(), ...r }, null, 1) + "\n");
    console.log(`bench:headend: wrote ${v.json}`);
  }
  return 0;
}

if (isMain(import.meta.url)) cli(TOOL, main, { exit: true });
