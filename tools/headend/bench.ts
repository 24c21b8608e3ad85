/*
 * The head-end's bench (npm run headend -- --bench): the default bench network (the meters
 * of bench/scenarios/default.json and a concentrator on one simulated line, bench/rig.ts)
 * running the real concentrator program, its console functions (consoleApi, as the board's
 * entry makes meterline) behind an in-process console with the console session's
 * command/answer shape, and the virtual clock driven by the wall clock.
 */
import { crc32 } from "node:zlib";
import { LinkRig, bootConcentrator, bootMeter, lineFor, type ConcNode } from "../../bench/rig";
import { lossModel } from "../../bench/run";
import { KIND_CODE, loadScenario } from "../../bench/scenario";
import { consoleApi } from "../../firmware/concentrator/console";
import { hostNative } from "../../hal/host/native";
import type { DeviceConfig } from "../../firmware/common/config";
import type { Answer } from "../console/session";
import type { ConcentratorConsole } from "./core";

/** The REPL's "=value" text of a value (numbers as they are, the rest as JSON). */
function replValue(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  try { return JSON.stringify(v) ?? String(v); } catch { return String(v); }
}

/**
 * A console in this process over a concentrator's meterline object: command(js) runs `js`
 * with `meterline` and `print` in scope and answers as the session does: the lines printed
 * while it ran, its value, or "Uncaught ..." when it threw. `api()` is read at each command,
 * so a restarted concentrator's new meterline takes over.
 */
export class InProcessConsole implements ConcentratorConsole {
  private sink: string[] | null = null;
  private closed = false;
  /** Lines printed outside any command (a round's or a campaign's own lines). */
  readonly unsolicited: string[] = [];

  constructor(readonly port: string, private readonly api: () => unknown) {}

  private readonly lineListeners: ((line: string) => void)[] = [];

  /** "line": every line printed (the console session's event); other events never come in process. */
  on(event: "disconnect" | "connect" | "line", f: (...a: unknown[]) => void): this {
    if (event === "line") this.lineListeners.push(f);
    return this;
  }

  /** The print function to give consoleApi. */
  readonly print = (line: string): void => {
    for (const f of this.lineListeners) f(line);
    if (this.sink) this.sink.push(line);
    else { this.unsolicited.push(line); if (this.unsolicited.length > 1000) this.unsolicited.shift(); }
  };

  async command(js: string): Promise<Answer> {
    if (this.closed) throw new Error(`${this.port}: the session was closed`);
    const lines: string[] = [];
    this.sink = lines;
    try {
      const v = new Function("meterline", "print", `return (${js});`)(this.api(), (...a: unknown[]) => this.print(a.map(String).join(" ")));
      return { lines, value: replValue(v) };
    } catch (e) {
      const error = `Uncaught ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
      lines.push(error);
      return { lines, error };
    } finally {
      this.sink = null;
    }
  }

  /** The concentrator's Storage files (latin1 strings, as Espruino's Storage.read gives them): meterlineOf's readFile reads them. */
  readonly storage = new Map<string, string>();

  /** Writes a Storage file, as the console session's writeFile does on a board. */
  async writeFile(name: string, bytes: Uint8Array): Promise<{ length: number; crc: number; attempts: number }> {
    if (this.closed) throw new Error(`${this.port}: the session was closed`);
    this.storage.set(name, Buffer.from(bytes).toString("latin1"));
    return { length: bytes.length, crc: crc32(bytes) >>> 0, attempts: 1 };
  }

  async close(): Promise<void> { this.closed = true; }

  /** Open again after close() (a head-end that restarts attaches to the same concentrator). */
  reopen(): void { this.closed = false; }
}

/**
 * The meterline object the board's entry makes (firmware/concentrator/entry.ts): consoleApi plus
 * config and ctx. `readFile` reads the concentrator's Storage (an uploaded image and tags);
 * none: no files.
 */
export function meterlineOf(conc: ConcNode, print: (line: string) => void, readFile: (name: string) => string | undefined = () => undefined): Record<string, unknown> {
  const api = consoleApi(conc.ctx, hostNative, 1, readFile, print, { bitRate: 9600, frameOverhead: 16, hostBaud: 57600 });
  api.config = conc.ctx.config;
  api.ctx = conc.ctx;
  return api;
}

export interface BenchOptions {
  /** The concentrator's id; default 1. */
  id?: number;
  /** Virtual seconds a real second; default 60. */
  speed?: number;
  /** The concentrator's register rounds, minutes; default 1 (a lively demo). */
  readingMinutes?: number;
  /** The readings store's files (100 readings each); default the program's. */
  storeFiles?: number;
  /** Unix seconds the concentrator's (and so the meters') clock is set to; default now. */
  startTime?: number;
  scenario?: string;
}

export interface BenchNetwork {
  rig: LinkRig;
  conc: ConcNode;
  console: InProcessConsole;
  meters: number[];
  /** Starts advancing virtual time with the wall clock (speed × real time, in 100 ms steps). */
  start(): void;
  stop(): void;
}

/** Builds the default bench network, its modems ready and the clock set; time stands until start(). */
export function benchNetwork(o: BenchOptions = {}): BenchNetwork {
  const sc = loadScenario(o.scenario ?? "bench/scenarios/default.json");
  const rig = new LinkRig(sc.modem, lineFor(sc.modem, sc.seed, { bitRate: sc.bitRate, defaults: lossModel(sc.loss.p, sc.loss.meanBurst) }));
  const ids = sc.meters.map((m) => m.id);
  // autoRestart: a meter that activates an image restarts into it, so a campaign completes
  for (const m of sc.meters) bootMeter(rig, `m${m.id}`, m.id, { kind: KIND_CODE[m.kind], version: 1, autoRestart: true });
  const config: Partial<DeviceConfig> = { id: o.id ?? 1, readingMinutes: o.readingMinutes ?? 1, profileHours: 6, ...(o.storeFiles ? { storeFiles: o.storeFiles } : {}) };
  const conc = bootConcentrator(rig, "conc", ids, undefined, config);
  let api: Record<string, unknown> = {};
  const con = new InProcessConsole(`bench:concentrator-${config.id}`, () => api);
  api = meterlineOf(conc, con.print, (name) => con.storage.get(name));
  rig.clock.advance(3000);
  conc.ctx.setTime(o.startTime ?? Math.floor(Date.now() / 1000));
  // an identify round, so the registry (and the head-end's meters table) knows kinds and versions
  for (let t = 0; t < 60 && conc.ctx.collect(() => undefined, undefined, 3) !== 0; t++) rig.clock.advance(1000);
  for (let t = 0; t < 30; t++) rig.clock.advance(1000);
  // pulses at each meter's rate (the scenario's pulsesPerHour)
  const clock = rig.clock;
  for (const m of sc.meters) {
    if (!m.pulsesPerHour) continue;
    const every = 3_600_000 / m.pulsesPerHour;
    const tick = () => {
      const node = rig.meters.get(m.id);
      node?.pulse.edge(clock.now());
      clock.setTimeout(tick, every);
    };
    clock.setTimeout(tick, every);
  }
  let timer: NodeJS.Timeout | null = null;
  const speed = o.speed ?? 60;
  return {
    rig, conc, console: con, meters: ids,
    start() {
      if (timer) return;
      let last = Date.now();
      timer = setInterval(() => {
        const now = Date.now();
        rig.clock.advance(Math.max(1, Math.round((now - last) * speed)));
        last = now;
      }, 100);
    },
    stop() { if (timer) clearInterval(timer); timer = null; },
  };
}
