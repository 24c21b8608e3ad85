/*
 * The head-end's core (docs/headend.md): for each attached concentrator, pull the readings
 * its store has from the head-end's cursor on with meterline.export("json", from, max),
 * store them and the cursor after them in one database transaction, publish the new ones on
 * MQTT, and only then acknowledge with meterline.ack(next) so the concentrator may free them.
 *
 * Nothing is missed: a reading is acknowledged only after its row is committed, and the
 * cursor is the database's own (a restart of the head-end asks from it again, whatever the
 * concentrator has acknowledged). Nothing is doubled: rows are unique on (meter, OBIS, time)
 * and go in with INSERT OR IGNORE, so a batch asked for twice (an acknowledgement lost, a
 * database restored from a copy) adds nothing, and only rows that were new are published.
 */
import type { Answer } from "../console/session";
import { lookupErr, nameCodes } from "../errors/table";
import {
  campaignFiles, campaignTopic, CommandError, identifyTopic, COMMAND_FILTER, commandTopic, correlationOf, deviceError, errorTopic, failedMeters,
  IMAGE_NAME, METER_STATES_CALL, parseCommand, parseProgress, replyTopic, running, TAGS_NAME, TOPIC_ROOT, updateCall,
  type CampaignReport, type Command, type FailedMeter,
} from "./commands";
import { eventName, type EventRow, type MeterEvent, type MeterInfo, type MeterPage, type Overview, type Point, type Reading, type Register } from "./db";
import type { Publisher } from "./mqtt";
import { discoveryConfig } from "./homeassistant";
import { Iv, RegStatus } from "../../firmware/meter/metering";

/** What the head-end needs of a console: a ConsoleSession, or the bench's in-process one. */
export interface ConcentratorConsole {
  readonly port: string;
  command(js: string, o?: { timeoutMs?: number }): Promise<Answer>;
  close(): Promise<void>;
  /** "line": every line the concentrator prints (in a command's answer or not), as its first argument. */
  on?(event: "disconnect" | "connect" | "line", f: (...a: unknown[]) => void): unknown;
  /** Writes a file into the concentrator's Storage, checked (campaign commands upload images and tags with it). */
  writeFile?(name: string, bytes: Uint8Array, o?: { timeoutMs?: number }): Promise<unknown>;
}

type Maybe<T> = T | Promise<T>;

/** The database: SQLite (HeadendDb, db.ts) or PostgreSQL (PgDb, pg.ts). */
export interface ReadingsDb {
  /** Where it is (a file, or a postgres:// URL without its password). */
  readonly file: string;
  concentrator(id: string, port: string): Maybe<void>;
  setStatus(id: string, status: "online" | "offline"): Maybe<void>;
  cursor(id: string): Maybe<number>;
  /** A batch and the cursor after it, in one transaction: the readings that were new. */
  store(id: string, rows: Reading[], next: number): Maybe<Reading[]>;
  /** A batch's events, stored before its readings and cursor: the ones that were new (one already stored is left as it is). */
  events(id: string, list: MeterEvent[]): Maybe<MeterEvent[]>;
  /** Events stored, oldest first (of one concentrator, or all). */
  eventRows(concentrator?: string): Maybe<EventRow[]>;
  meters(id: string, list: MeterInfo[]): Maybe<void>;
  /** Each register (meter, OBIS, unit) of the concentrator's readings stored. */
  registers(id: string): Maybe<Register[]>;
  /** Every concentrator, the meters (all, or one page), and those meters' registers' newest readings (the live page). */
  overview(page?: MeterPage): Maybe<Overview>;
  /** A meter's readings from `since` (Unix s) on, by time, at most `max` (the newest): the live page's plot. */
  series(meter: number, since: number, max?: number): Maybe<Point[]>;
  close(): Maybe<void>;
}

export interface HeadendOptions {
  db: ReadingsDb;
  /** Where readings and status go; none: the database only. */
  mqtt?: Publisher | null;
  /** Readings asked for in one export (1..1000); default 100. */
  batch?: number;
  /** Timeout of one console command; default 30 s (an export of a whole batch over a slow serial line). */
  timeoutMs?: number;
  /** How often the registry is asked for (meterline.meters()), ms; default 60 s. */
  metersEveryMs?: number;
  log?: (line: string) => void;
  /** The folder of images and tags files that campaign commands name; default the current folder. */
  files?: string;
  /**
   * Answer commands for a concentrator not attached here with UNKNOWN_CONCENTRATOR; default
   * true. False when several head-ends share one broker, each attached to other concentrators.
   */
  answerUnknown?: boolean;
  /** Announce meters to Home Assistant's MQTT discovery under this prefix (homeassistant.ts); none: no announcements. */
  homeassistant?: string | null;
}

export class HeadendError extends Error {}

/**
 * What changed, for watchers (the live page, page.ts): new readings of these meters stored, a
 * campaign's progress published, a concentrator online or offline, its registry asked again.
 */
export type HeadendEvent =
  | { kind: "readings"; concentrator: string; meters: number[]; count: number }
  | { kind: "campaign"; concentrator: string; report: CampaignReport }
  | { kind: "status"; concentrator: string; online: boolean }
  | { kind: "meters"; concentrator: string };

export { TOPIC_ROOT };

export function readingTopic(concentrator: string, meter: number, obis: string): string {
  return `${TOPIC_ROOT}/${concentrator}/${meter}/${obis}`;
}

export function statusTopic(concentrator: string): string {
  return `${TOPIC_ROOT}/${concentrator}/status`;
}

/** A reading's message on its topic: the value with the scaler applied, its unit, time and status. */
export function readingPayload(r: Reading): string {
  return JSON.stringify({ value: r.value, unit: r.unit, time: r.time, status: r.status, statusNames: statusNames(r.obis, r.status) });
}

/** The status bits' names: a load-profile interval's (OBIS group D = 29) or a register's (docs/protocol.md, READINGS and PROFILE). */
const PROFILE_STATUS: [number, string][] = [[Iv.MISSING, "MISSING"], [Iv.CLOCK_ADJUSTED, "CLOCK_ADJUSTED"], [Iv.POWER_FAIL, "POWER_FAIL"], [Iv.PARTIAL, "PARTIAL"], [Iv.OVERFLOW, "OVERFLOW"], [Iv.CLOCK_NOT_SET, "CLOCK_NOT_SET"]];
const REGISTER_STATUS: [number, string][] = [[RegStatus.INVALID, "INVALID"], [RegStatus.CLOCK_NOT_SET, "CLOCK_NOT_SET"]];

/** The names of the bits set in a reading's status, in bit order; a bit no table names: BIT<n>. */
export function statusNames(obis: string, status: number): string[] {
  const table = /^\d+-\d+:\d+\.29\./.test(obis) ? PROFILE_STATUS : REGISTER_STATUS, out: string[] = [];
  for (let bit = 0; bit < 8; bit++) {
    const v = 1 << bit;
    if (status & v) out.push(table.find(([b]) => b === v)?.[1] ?? `BIT${bit}`);
  }
  return out;
}

/** Where a meter's events go: each event as it is stored, the last retained. */
export function eventTopic(concentrator: string, meter: number): string {
  return `${TOPIC_ROOT}/${concentrator}/${meter}/events`;
}

/** An event's message: its number in the meter's log, code and name, time and data. */
export function eventPayload(e: MeterEvent): string {
  return JSON.stringify({ n: e.n, code: e.code, name: eventName(e.code), time: e.time, data: e.data });
}

/** The event log's OBIS code, as the export names its lines. */
export const EVENT_OBIS = "0-0:99.98.0";

export function meterStatusTopic(concentrator: string, meter: number): string {
  return `${TOPIC_ROOT}/${concentrator}/${meter}/status`;
}

/** A device error line: "meterline: ... (E93)". */
const DEVICE_ERROR = /^meterline: (.*) \(E(\d+)\)$/;

/**
 * Parses the lines of meterline.export("json", from, max); throws on anything it cannot take
 * whole. Event lines (OBIS 0-0:99.98.0) go into `events` when given, else they are refused.
 */
export function parseExport(lines: string[], from: number, events?: MeterEvent[]): Reading[] {
  const out: Reading[] = [];
  let last = from - 1;
  for (const l of lines) {
    const t = l.trim();
    if (!t) continue;
    const err = DEVICE_ERROR.exec(t);
    if (err) throw new HeadendError(`export refused: ${nameCodes(t)}`);
    if (!t.startsWith("{")) continue; // a line the concentrator printed on its own
    let r: Reading;
    try { r = JSON.parse(t) as Reading; } catch { throw new HeadendError(`a garbled export line: ${t.slice(0, 80)}`); }
    if (r.obis === EVENT_OBIS && events) {
      const e = r as unknown as MeterEvent & { event: number };
      if (![e.pos, e.meter, e.event, e.time, e.data, e.n].every((x) => Number.isInteger(x))) throw new HeadendError(`an event line without pos, meter, event, time, data and n: ${t.slice(0, 80)}`);
      if (e.pos <= last) throw new HeadendError(`export positions out of order: ${e.pos} after ${last}`);
      last = e.pos;
      events.push({ pos: e.pos, meter: e.meter, code: e.event, time: e.time, data: e.data, n: e.n });
      continue;
    }
    if (!Number.isInteger(r.pos) || !Number.isInteger(r.meter) || typeof r.obis !== "string" || typeof r.value !== "number" || typeof r.unit !== "string" || !Number.isInteger(r.time) || !Number.isInteger(r.status)) {
      throw new HeadendError(`an export line without pos, meter, obis, value, unit, time and status: ${t.slice(0, 80)}`);
    }
    if (r.pos <= last) throw new HeadendError(`export positions out of order: ${r.pos} after ${last}`);
    last = r.pos;
    out.push({ pos: r.pos, meter: r.meter, obis: r.obis, value: r.value, unit: r.unit, time: r.time, status: r.status });
  }
  return out;
}

/** Parses meterline.meters(): "7 kind 1 v1 ok 3 missed 0 seen 1796153469 q 0" a meter. */
export function parseMeters(lines: string[]): MeterInfo[] {
  const out: MeterInfo[] = [];
  for (const l of lines) {
    const m = /^(\d+) kind (\d+) v(\d+) ok (\d+) missed (\d+) seen (\d+) q (-?\d+)$/.exec(l.trim());
    if (m) out.push({ id: +m[1], kind: +m[2], version: +m[3], ok: +m[4], missed: +m[5], lastSeen: +m[6], quality: +m[7] });
  }
  return out;
}

/** An integer REPL value ("=12"), or an error naming the command. */
function intValue(a: Answer, what: string): number {
  if (a.error) throw new HeadendError(`${what}: ${a.error}`);
  const n = Number(a.value);
  if (a.value === undefined || !Number.isInteger(n)) throw new HeadendError(`${what}: no number in the answer (${a.value ?? a.lines.join(" | ")})`);
  return n;
}

/** One concentrator attached to the head-end. */
export class Attachment {
  /** The concentrator's id (meterline.config.id), its name in topics and rows. */
  id = "";
  online = false;
  /** Readings stored from it since it was attached (new rows). */
  stored = 0;
  private lastMeters = 0;
  /** The campaign as last published on its topic; null: none seen. */
  report: CampaignReport | null = null;
  /** Ask for the campaign's progress at the next pull: at the first (one may run already), and while one runs. */
  private following = true;
  /** The running campaign's meter ids, by index (from its checkpoint, which is gone once it ends). */
  private campaignIds: number[] | null = null;
  private imageId: number | null = null;
  /** The registry as last asked for, by meter id (Home Assistant's device blocks). */
  private info = new Map<number, MeterInfo>();
  /** Each register (meter, OBIS, unit) seen in this concentrator's readings (announced to Home Assistant). */
  private registers = new Map<string, Register>();
  /** The last campaign end line's failed meters ("meterline: campaign 12 ended: ...; failed: 2003 E94"), by image id. */
  private endLine: { imageId: number; failed: FailedMeter[] } | null = null;
  /** Commands (and progress queries) to this concentrator, one at a time in the order they came. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly h: Headend, readonly con: ConcentratorConsole) {}

  /** A register seen in the readings; announced to Home Assistant once its meter is in the registry as last asked for. */
  async noteRegister(r: Register): Promise<void> {
    const key = `${r.meter}|${r.obis}|${r.unit}`;
    if (this.registers.has(key)) return;
    this.registers.set(key, { meter: r.meter, obis: r.obis, unit: r.unit });
    const info = this.info.get(r.meter);
    if (info) await this.h.announce(this.id, info, r.obis, r.unit);
  }

  /** A line the concentrator printed: a campaign's start line, or its end line that names each failed meter with its code. */
  onLine(line: string): void {
    // the end of a round of IDENTITY (the identify command answers at once): published, so an
    // operator knows when an update with a packed image may follow
    const idr = /^meterline: identify round: (\d+) collected, (\d+) meters did not answer$/.exec(line.trim());
    if (idr) {
      void this.h.publish(identifyTopic(this.id), JSON.stringify({ collected: Number(idr[1]), missed: Number(idr[2]), at: Date.now() }), false).catch((e: Error) => this.h.log(`headend: MQTT: ${e.message}`));
      return;
    }
    // a campaign started at the console (deploy through the relay): followed and published as the head-end's own
    const st = /^meterline: campaign (\d+) started/.exec(line.trim());
    if (st) {
      this.imageId = Number(st[1]);
      this.campaignIds = null;
      // (a campaign that every meter refused at its start ends before its start line is printed)
      if (this.endLine?.imageId !== this.imageId) this.endLine = null;
      this.following = true;
      return;
    }
    const m = /^meterline: campaign (\d+) ended: .*?(?:failed:((?: \d+ E\d+)+))?$/.exec(line.trim());
    if (!m) return;
    const failed = (m[2] ?? "").trim().split(" ").filter(Boolean).reduce<FailedMeter[]>((out, x, i, all) => {
      if (i % 2 === 0) { const code = Number(all[i + 1].slice(1)); out.push({ meter: Number(x), code, error: lookupErr(code)?.name ?? `E${code}` }); }
      return out;
    }, []);
    this.endLine = { imageId: Number(m[1]), failed };
    // followed once more: a campaign that ended before its meters' ids were read (every meter
    // refused at its start) is published again with the ids its end line names
    this.following = true;
  }

  /** Runs `f` after every command queued before it. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.queue.then(f);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Runs a command (commandTopic, parseCommand); its answer's fields, or a CommandError. */
  run(c: Command): Promise<Record<string, unknown>> {
    return this.serial(() => this.execute(c));
  }

  /** A console command; a console that does not answer is CONSOLE, one that throws CONCENTRATOR_THREW. */
  private async ask(js: string): Promise<Answer> {
    let a: Answer;
    try { a = await this.con.command(js, { timeoutMs: this.h.timeoutMs }); } catch (e) { throw new CommandError("CONSOLE", `concentrator ${this.id}: ${(e as Error).message}`); }
    if (a.error) throw new CommandError("CONCENTRATOR_THREW", `concentrator ${this.id}: ${js.slice(0, 40)}: ${a.error}`);
    return a;
  }

  /** A console function that prints and returns 0 or a device code: its "meterline:" lines; a code is its named error. */
  private async call(js: string): Promise<string[]> {
    const a = await this.ask(js);
    const lines = a.lines.filter((l) => l.startsWith("meterline:"));
    const code = Number(a.value);
    if (!Number.isInteger(code)) throw new CommandError("CONCENTRATOR_THREW", `concentrator ${this.id}: ${js.slice(0, 40)}: no code in the answer (${a.value})`);
    if (code) throw deviceError(code, nameCodes(lines[lines.length - 1] ?? ""));
    return lines;
  }

  private async execute(c: Command): Promise<Record<string, unknown>> {
    if (c.name === "read") {
      const lines = await this.call(`meterline.read(${c.meter ?? ""})`);
      return { meter: c.meter ?? null, lines, note: "a round of readings runs; they come on the reading topics with the next pull" };
    }
    if (c.name === "identify") {
      const lines = await this.call(`meterline.identify(${c.meter ?? ""})`);
      return { meter: c.meter ?? null, lines, note: "a round of IDENTITY runs: kind, board, version, group and whether each meter's boot routine installs packed images (an update with a packed image goes only to those that say so); the versions come on the meter status topics with the next registry refresh" };
    }
    if (c.name === "resume") {
      const lines = await this.resume();
      this.following = true;
      await this.followCampaign();
      return { lines, campaign: this.report };
    }
    if (c.name !== "update") {
      const lines = await this.call(`meterline.${c.name}()`);
      this.following = true;
      await this.followCampaign();
      return { lines, campaign: this.report };
    }
    // everything that can be checked is, before anything is written: a refused command changes nothing
    const files = campaignFiles(this.h.files, c);
    if (Array.isArray(c.meters)) {
      const known = new Set(parseMeters((await this.ask("meterline.meters()")).lines).map((m) => m.id));
      const unknown = c.meters.filter((m) => !known.has(m));
      if (unknown.length) {
        const e = lookupErr("UNKNOWN_METER")!;
        throw new CommandError(e.name, `update: meters ${unknown.join(", ")} are not in concentrator ${this.id}'s registry`, e.code);
      }
    }
    const p = parseProgress((await this.ask("meterline.progress()")).lines.filter((l) => l.startsWith("meterline:")).pop() ?? "");
    if (p && running(p.phase)) throw new CommandError("CAMPAIGN_RUNNING", `concentrator ${this.id} runs a campaign already (${p.phase}, round ${p.round}, ${p.complete} of ${p.meters} meters updated): its image file is in use`);
    if (!this.con.writeFile) throw new CommandError("UPLOAD_FAILED", `${this.port}: this console cannot write Storage files`);
    const uploaded: string[] = [];
    for (const [name, bytes] of [[IMAGE_NAME, files.image], [TAGS_NAME, files.tags]] as const) {
      if (!bytes) continue;
      try { await this.con.writeFile(name, bytes, { timeoutMs: this.h.timeoutMs }); } catch (e) { throw new CommandError("UPLOAD_FAILED", `concentrator ${this.id}: ${name}: ${(e as Error).message}`); }
      uploaded.push(`${name} (${bytes.length} bytes)`);
    }
    const lines = await this.call(updateCall(c, files));
    this.imageId = c.imageId;
    this.campaignIds = null;
    // (kept if the campaign ended already: every meter refused at its start)
    if (this.endLine?.imageId !== c.imageId) this.endLine = null;
    this.following = true;
    await this.followCampaign();
    return { imageId: c.imageId, uploaded, lines, campaign: this.report };
  }

  /**
   * resume: the paused campaign; else the campaign a restart of the concentrator interrupted
   * (its checkpoint names it), with the image file the head-end uploaded for it (IMAGE_NAME)
   * and, when the concentrator says its meters are keyed (AUTH_NO_TAG), the tags file beside
   * it (TAGS_NAME). The concentrator checks that the file is that campaign's image (its
   * digest): a refusal is the answer and changes nothing.
   */
  private async resume(): Promise<string[]> {
    const code = (e: unknown) => (e instanceof CommandError ? e.code : undefined);
    try {
      return await this.call("meterline.resume()");
    } catch (e) {
      if (code(e) !== lookupErr("UPDATE_NO_SESSION")!.code) throw e;
    }
    let lines: string[];
    try {
      lines = await this.call(`meterline.resume(${JSON.stringify(IMAGE_NAME)})`);
    } catch (e) {
      if (code(e) !== lookupErr("AUTH_NO_TAG")!.code) throw e;
      lines = await this.call(`meterline.resume(${JSON.stringify(IMAGE_NAME)},${JSON.stringify(TAGS_NAME)})`);
    }
    // "meterline: campaign 12 resumed for 3 meters": followed and published as the head-end's own
    const m = /^meterline: campaign (\d+) resumed/.exec(lines[lines.length - 1] ?? "");
    if (m) { this.imageId = Number(m[1]); this.campaignIds = null; this.endLine = null; }
    return lines;
  }

  /**
   * While a campaign runs (and once at the first pull): its progress line and, while its
   * checkpoint names them, its meters' states; published on the campaign topic when it changed.
   */
  async followCampaign(): Promise<void> {
    if (!this.following) return;
    const a = await this.con.command("meterline.progress()", { timeoutMs: this.h.timeoutMs });
    const p = parseProgress(a.lines.filter((l) => l.startsWith("meterline:")).pop() ?? "");
    if (!p) { this.following = false; return; } // no campaign
    const on = running(p.phase);
    let failed: FailedMeter[] = [];
    const end = this.endLine;
    if (!on && end && (this.imageId === null || end.imageId === this.imageId) && end.failed.length === p.failed) failed = end.failed;
    else if (p.failed || (on && !this.campaignIds)) {
      const s = await this.con.command(METER_STATES_CALL, { timeoutMs: this.h.timeoutMs });
      const text = s.value && s.value.startsWith('"') ? (JSON.parse(s.value) as string) : "";
      const r = failedMeters(text, this.campaignIds);
      this.campaignIds = r.ids;
      failed = r.failed;
    }
    const report: CampaignReport = { imageId: this.imageId, ...p, running: on, failedMeters: failed, error: p.code ? lookupErr(p.code)?.name ?? `E${p.code}` : null };
    if (JSON.stringify(report) !== JSON.stringify(this.report)) {
      this.report = report;
      this.h.emit({ kind: "campaign", concentrator: this.id, report });
      await this.h.publish(campaignTopic(this.id), JSON.stringify(report));
    }
    if (!on) this.following = false;
  }

  /** followCampaign after the commands queued before it. */
  follow(): Promise<void> { return this.serial(() => this.followCampaign()); }

  get port(): string { return this.con.port; }

  /** Asks the concentrator its id; records it online. */
  async identify(): Promise<string> {
    const a = await this.con.command("meterline.config.id", { timeoutMs: this.h.timeoutMs });
    if (a.error) throw new HeadendError(`${this.port}: the concentrator does not say its id (meterline.config.id: ${a.error})`);
    const id = Number(a.value);
    if (!Number.isInteger(id) || id < 1 || id > 0xfffe) throw new HeadendError(`${this.port}: meterline.config.id is not a concentrator id, 1 to 65534 (${a.value})`);
    this.id = String(id);
    return this.id;
  }

  /**
   * Pulls everything new: export batches from the database's cursor until one comes back
   * short, each stored (with the cursor after it) before the next is asked for; then one
   * acknowledgement of the new cursor. Returns how many readings were new.
   */
  async pull(): Promise<number> {
    const { db, batch, timeoutMs } = this.h;
    let cursor = await db.cursor(this.id);
    if (!this.online) cursor = await this.checkStore(cursor);
    let got = 0, any = false;
    for (;;) {
      const a = await this.con.command(`meterline.export("json",${cursor},${batch})`, { timeoutMs });
      const evs: MeterEvent[] = [];
      const rows = parseExport(a.lines, cursor, evs);
      const next = intValue(a, `export from ${cursor}`);
      const lastPos = Math.max(rows.length ? rows[rows.length - 1].pos : -1, evs.length ? evs[evs.length - 1].pos : -1);
      if (next < cursor || (lastPos >= 0 && next <= lastPos)) throw new HeadendError(`export from ${cursor} answered ${next}: not a position after what it printed`);
      if (next === cursor) break;
      // events first: a failure before the cursor is stored asks for them again, and they are not filed twice
      const newEvents = await db.events(this.id, evs);
      for (const e of newEvents) this.h.sendEvent(this.id, e);
      const added = await db.store(this.id, rows, next);
      // only readings are acknowledged: each acknowledgement takes a line of the store, so
      // acknowledging a cursor moved only over acknowledgement lines would write one a pull
      if (rows.length || evs.length) any = true;
      got += added.length;
      this.stored += added.length;
      if (added.length) this.h.emit({ kind: "readings", concentrator: this.id, meters: [...new Set(added.map((r) => r.meter))], count: added.length });
      // published in order without waiting: a broker that is away (an external one reconnecting)
      // holds up neither the database nor the acknowledgement
      for (const r of added) {
        if (this.h.homeassistant) this.noteRegister(r).catch((e: Error) => this.h.log(`headend: MQTT: ${e.message}`));
        this.h.sendReading(this.id, r);
      }
      cursor = next;
      if (rows.length + evs.length < batch) break;
    }
    if (any || !this.online) await this.ack(cursor);
    if (!this.online) await this.setOnline(true);
    if (Date.now() - this.lastMeters >= this.h.metersEveryMs) await this.refreshMeters();
    return got;
  }

  /**
   * A store that ends before the cursor was erased or replaced (its positions start again
   * from 0): ask from its start, or its new readings would never be asked for (the rows' key
   * keeps out any reading already stored). Needs meterline.ctx (the board's entry and the bench
   * set it); without it, nothing is checked.
   */
  private async checkStore(cursor: number): Promise<number> {
    const a = await this.con.command("[meterline.ctx.store.start(),meterline.ctx.store.end()].join()", { timeoutMs: this.h.timeoutMs });
    const m = /^"?(\d+),(\d+)"?$/.exec(a.value ?? "");
    if (a.error || !m) return cursor;
    const start = +m[1], end = +m[2];
    if (end >= cursor) return cursor;
    this.h.log(`headend: concentrator ${this.id}: its store ends at ${end}, before the cursor ${cursor} (erased or replaced): asking from ${start}`);
    await this.h.db.store(this.id, [], start);
    return start;
  }

  /** meterline.ack(pos): everything before pos is stored here. A refusal is logged (asked again next pull). */
  private async ack(pos: number): Promise<void> {
    if (pos === 0) return;
    const a = await this.con.command(`meterline.ack(${pos})`, { timeoutMs: this.h.timeoutMs });
    const code = intValue(a, `ack(${pos})`);
    if (code !== 0) this.h.log(`headend: concentrator ${this.id}: ack(${pos}) refused: ${nameCodes(a.lines.join(" ") || `E${code}`)}`);
  }

  /** The registry: into the meters table, and each meter's status topic. */
  async refreshMeters(): Promise<MeterInfo[]> {
    const a = await this.con.command("meterline.meters()", { timeoutMs: this.h.timeoutMs });
    if (a.error) throw new HeadendError(`meters(): ${a.error}`);
    const list = parseMeters(a.lines);
    await this.h.db.meters(this.id, list);
    this.lastMeters = Date.now();
    this.h.emit({ kind: "meters", concentrator: this.id });
    for (const m of list) {
      this.info.set(m.id, m);
      await this.h.publish(meterStatusTopic(this.id, m.id), JSON.stringify({ kind: m.kind, version: m.version, lastSeen: m.lastSeen, quality: m.quality, ok: m.ok, missed: m.missed }));
    }
    // Home Assistant: each register of a listed meter, again when its kind or version changed (published only then)
    if (this.h.homeassistant) {
      for (const r of this.registers.values()) {
        const info = this.info.get(r.meter);
        if (info) await this.h.announce(this.id, info, r.obis, r.unit);
      }
    }
    return list;
  }

  async setOnline(on: boolean): Promise<void> {
    if (!this.id) return;
    this.online = on;
    await this.h.db.setStatus(this.id, on ? "online" : "offline");
    this.h.emit({ kind: "status", concentrator: this.id, online: on });
    await this.h.publish(statusTopic(this.id), on ? "online" : "offline");
  }
}

export class Headend {
  readonly db: ReadingsDb;
  readonly mqtt: Publisher | null;
  readonly batch: number;
  readonly timeoutMs: number;
  readonly metersEveryMs: number;
  readonly log: (line: string) => void;
  readonly files: string;
  readonly answerUnknown: boolean;
  /** Home Assistant's discovery prefix, or null: no announcements. */
  readonly homeassistant: string | null;
  /** Discovery configs published, by topic (a config is published again only when it changed). */
  private readonly announced = new Map<string, string>();
  readonly attached: Attachment[] = [];
  private readonly watchers = new Set<(e: HeadendEvent) => void>();
  private timer: NodeJS.Timeout | null = null;
  private inflight: Promise<unknown> = Promise.resolve();
  private stopping = false;

  constructor(o: HeadendOptions) {
    this.db = o.db;
    this.mqtt = o.mqtt ?? null;
    this.batch = o.batch ?? 100;
    if (!Number.isInteger(this.batch) || this.batch < 1 || this.batch > 1000) throw new HeadendError("batch must be 1 to 1000 (the concentrator's export limit)");
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.metersEveryMs = o.metersEveryMs ?? 60_000;
    this.log = o.log ?? (() => undefined);
    this.files = o.files ?? process.cwd();
    this.answerUnknown = o.answerUnknown ?? true;
    this.homeassistant = o.homeassistant ?? null;
  }

  /** Calls `f` with each change from now on (HeadendEvent); returns what stops it. */
  watch(f: (e: HeadendEvent) => void): () => void {
    this.watchers.add(f);
    return () => { this.watchers.delete(f); };
  }

  /** Tells the watchers; a watcher that throws is logged and does not stop the head-end. */
  emit(e: HeadendEvent): void {
    for (const f of this.watchers) {
      try { f(e); } catch (x) { this.log(`headend: a watcher of ${e.kind} failed: ${(x as Error).message}`); }
    }
  }

  /** Publishes (retained) a register's Home Assistant discovery config, when it has one and it changed. */
  async announce(concentrator: string, info: MeterInfo, obis: string, unit: string): Promise<void> {
    if (!this.homeassistant) return;
    const c = discoveryConfig(this.homeassistant, concentrator, info, obis, unit);
    if (!c) return;
    const text = JSON.stringify(c.payload);
    if (this.announced.get(c.topic) === text) return;
    this.announced.set(c.topic, text);
    await this.publish(c.topic, text);
  }

  /** Takes commands: subscribes to meterline/+/cmd/# (docs/headend.md, Commands). */
  async listen(): Promise<void> {
    if (!this.mqtt) throw new HeadendError("commands need an MQTT broker");
    await this.mqtt.subscribe(COMMAND_FILTER, (topic, payload, retain) => { void this.onCommand(topic, payload.toString("utf8"), retain); });
  }

  /** Runs one command message and answers it on the reply or the error topic. Resolves when answered. */
  async onCommand(topic: string, text: string, retain: boolean): Promise<void> {
    const t = commandTopic(topic);
    if (!t) return;
    const at = this.attached.find((x) => x.id === t.concentrator);
    if (!at && !this.answerUnknown) return; // another head-end's concentrator
    const id = correlationOf(text);
    const answer = (to: string, body: Record<string, unknown>) => this.publish(to, JSON.stringify({ command: t.name, ...(id !== undefined ? { id } : {}), ...body }), false);
    try {
      if (!at) throw new CommandError("UNKNOWN_CONCENTRATOR", `no concentrator ${t.concentrator} is attached (attached: ${this.attached.map((x) => x.id).join(", ") || "none"})`);
      if (retain) throw new CommandError("RETAINED_COMMAND", `${t.name}: published retained; publish commands without retain`);
      const body = await at.run(parseCommand(t.name, text));
      await answer(replyTopic(t.concentrator), { ok: true, ...body });
    } catch (e) {
      const ce = e instanceof CommandError ? e : new CommandError("CONSOLE", (e as Error).message);
      this.log(`headend: concentrator ${t.concentrator}: command ${t.name} refused: ${ce.error}: ${ce.message}`);
      await answer(errorTopic(t.concentrator), { error: ce.error, ...(ce.code !== undefined ? { code: ce.code } : {}), message: ce.message }).catch(() => undefined);
    }
  }

  /** Attaches a concentrator: asks its id, records it, marks it online. */
  async attach(con: ConcentratorConsole): Promise<Attachment> {
    const at = new Attachment(this, con);
    const id = await at.identify();
    const same = this.attached.find((x) => x.id === id);
    if (same) throw new HeadendError(`${con.port} and ${same.port} both say they are concentrator ${id}: each concentrator needs its own id`);
    await this.db.concentrator(id, con.port);
    // registers of readings stored before: announced with the registry's first answer (an embedded broker keeps no retained message across restarts)
    if (this.homeassistant) for (const r of await this.db.registers(id)) await at.noteRegister(r);
    this.attached.push(at);
    con.on?.("disconnect", () => { if (!this.stopping) void at.setOnline(false).catch(() => undefined); });
    con.on?.("line", (l) => at.onLine(String(l)));
    return at;
  }

  async publish(topic: string, payload: string, retain = true): Promise<void> {
    if (this.mqtt) await this.mqtt.publish(topic, payload, retain);
  }

  async publishReading(concentrator: string, r: Reading): Promise<void> {
    await this.publish(readingTopic(concentrator, r.meter, r.obis), readingPayload(r));
  }

  /** publishReading without waiting (pull publishes each reading so): an MQTT error is logged. */
  sendReading(concentrator: string, r: Reading): void {
    if (this.mqtt) this.mqtt.send(readingTopic(concentrator, r.meter, r.obis), readingPayload(r), true, this.mqttFailed);
  }

  /** An event on its meter's event topic, without waiting (retained: the last one). */
  sendEvent(concentrator: string, e: MeterEvent): void {
    if (this.mqtt) this.mqtt.send(eventTopic(concentrator, e.meter), eventPayload(e), true, this.mqttFailed);
  }

  private readonly mqttFailed = (e: Error) => this.log(`headend: MQTT: ${e.message}`);

  /** One pull of every concentrator; a concentrator that fails is logged and marked offline. Returns the new readings. */
  async pullAll(): Promise<number> {
    let n = 0;
    await Promise.all(this.attached.map(async (at) => {
      try {
        const got = await at.pull();
        if (got) this.log(`headend: concentrator ${at.id}: ${got} new readings (${at.stored} since attached)`);
        n += got;
        await at.follow();
      } catch (e) {
        this.log(`headend: concentrator ${at.id} (${at.port}): ${(e as Error).message}`);
        if (at.online) await at.setOnline(false).catch(() => undefined);
      }
    }));
    return n;
  }

  /** Pulls every `everyMs` until stop(). */
  run(everyMs: number): void {
    const tick = async () => {
      if (this.stopping) return;
      this.inflight = this.pullAll();
      await this.inflight;
      if (!this.stopping) this.timer = setTimeout(tick, everyMs);
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Stops pulling, marks every concentrator offline, closes their consoles. The database and broker stay open (their owner closes them). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inflight.catch(() => undefined);
    for (const at of this.attached) {
      await at.setOnline(false).catch(() => undefined);
      await at.con.close().catch(() => undefined);
    }
  }
}
