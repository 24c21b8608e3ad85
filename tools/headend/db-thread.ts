/*
 * The head-end's SQLite database on a worker thread of its own (docs/headend.md, Scale).
 *
 * better-sqlite3 is synchronous: on the head-end's thread every insert and every sync to disk
 * stops the broker, the parsing of exports and the publishing until it returns. Here one worker
 * thread owns the database (HeadendDb, db.ts, unchanged: the same schema, pragmas and
 * transaction of a batch with its cursor) and answers the ReadingsDb calls posted to it in order,
 * so the database's work runs beside the rest on another core. A batch's readings go over as
 * columns (a few arrays, not a thousand objects) and come back as the indices of those that were
 * new.
 *
 *   const db = await ThreadedDb.open("headend.db");   // fails as HeadendDb would, with its message
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { ReadingsDb } from "./core";
import { HeadendDb, type EventRow, type MeterEvent, type MeterInfo, type MeterPage, type Overview, type Point, type Reading, type ReadingRow, type Register } from "./db";

/** A batch of readings as columns. */
interface Columns { pos: Float64Array; meter: Float64Array; obis: string[]; value: Float64Array; unit: string[]; time: Float64Array; status: Float64Array }

type Request =
  | { op: "concentrator"; id: string; port: string }
  | { op: "setStatus"; id: string; status: "online" | "offline" }
  | { op: "cursor"; id: string }
  | { op: "store"; id: string; rows: Columns; next: number }
  | { op: "events"; id: string; list: MeterEvent[] }
  | { op: "eventRows"; concentrator?: string }
  | { op: "meters"; id: string; list: MeterInfo[] }
  | { op: "registers"; id: string }
  | { op: "overview"; page?: MeterPage }
  | { op: "series"; meter: number; since: number; max?: number }
  | { op: "readings"; concentrator?: string }
  | { op: "close" };

/** The worker's answer to request `n`: its value, or the error's message; `ms`: time the worker spent on it. */
interface Answer { n: number; value?: unknown; error?: string; ms: number }

function columnsOf(rows: Reading[]): Columns {
  const n = rows.length;
  const c: Columns = { pos: new Float64Array(n), meter: new Float64Array(n), obis: new Array<string>(n), value: new Float64Array(n), unit: new Array<string>(n), time: new Float64Array(n), status: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    c.pos[i] = r.pos; c.meter[i] = r.meter; c.obis[i] = r.obis; c.value[i] = r.value; c.unit[i] = r.unit; c.time[i] = r.time; c.status[i] = r.status;
  }
  return c;
}

function rowsOf(c: Columns): Reading[] {
  const rows: Reading[] = new Array(c.obis.length);
  for (let i = 0; i < rows.length; i++) rows[i] = { pos: c.pos[i], meter: c.meter[i], obis: c.obis[i], value: c.value[i], unit: c.unit[i], time: c.time[i], status: c.status[i] };
  return rows;
}

/** The database's side: runs in the worker. */
function serve(file: string): void {
  const port = parentPort!;
  let db: HeadendDb;
  try {
    db = new HeadendDb(file);
  } catch (e) {
    port.postMessage({ n: 0, error: (e as Error).message, ms: 0 } satisfies Answer);
    return;
  }
  port.postMessage({ n: 0, value: "ready", ms: 0 } satisfies Answer);
  port.on("message", ({ n, req }: { n: number; req: Request }) => {
    const t = performance.now();
    let value: unknown;
    try {
      switch (req.op) {
        case "concentrator": value = db.concentrator(req.id, req.port); break;
        case "setStatus": value = db.setStatus(req.id, req.status); break;
        case "cursor": value = db.cursor(req.id); break;
        case "store": {
          const rows = rowsOf(req.rows), added = db.store(req.id, rows, req.next);
          // the new ones by index: they are the batch's own rows, in order
          const idx = new Uint32Array(added.length);
          for (let i = 0, k = 0; i < rows.length && k < added.length; i++) if (rows[i] === added[k]) idx[k++] = i;
          value = idx;
          break;
        }
        case "events": {
          // the new ones by index, as store's
          const added = db.events(req.id, req.list), idx = new Uint32Array(added.length);
          for (let i = 0, k = 0; i < req.list.length && k < added.length; i++) if (req.list[i] === added[k]) idx[k++] = i;
          value = idx;
          break;
        }
        case "eventRows": value = db.eventRows(req.concentrator); break;
        case "meters": value = db.meters(req.id, req.list); break;
        case "registers": value = db.registers(req.id); break;
        case "overview": value = db.overview(req.page); break;
        case "series": value = db.series(req.meter, req.since, req.max); break;
        case "readings": value = db.readings(req.concentrator); break;
        case "close": db.close(); value = null; break;
      }
    } catch (e) {
      port.postMessage({ n, error: (e as Error).message, ms: performance.now() - t } satisfies Answer);
      return;
    }
    port.postMessage({ n, value, ms: performance.now() - t } satisfies Answer);
    if (req.op === "close") port.close();
  });
}

/** The head-end's side: a ReadingsDb whose calls the worker answers. */
export class ThreadedDb implements ReadingsDb {
  /** Time the worker spent on store() calls (inserts, the cursor, the commit), ms. */
  storeMs = 0;
  private n = 0;
  private readonly waiting = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void; op: string }>();
  private closed = false;

  private constructor(readonly file: string, private readonly worker: Worker) {
    worker.on("message", (a: Answer) => {
      const w = this.waiting.get(a.n);
      if (!w) return;
      this.waiting.delete(a.n);
      if (w.op === "store") this.storeMs += a.ms;
      if (a.error !== undefined) w.fail(new Error(a.error));
      else w.ok(a.value);
    });
    const gone = (why: string) => { for (const w of this.waiting.values()) w.fail(new Error(`the database's thread ${why}`)); this.waiting.clear(); };
    worker.on("error", (e) => gone(`failed: ${e.message}`));
    worker.on("exit", (code) => gone(`exited (${code})`));
  }

  /** Starts the worker and opens `file` there (made when missing); fails with HeadendDb's message when it cannot. */
  static async open(file: string): Promise<ThreadedDb> {
    const self = new URL(import.meta.url);
    // the head-end runs its TypeScript through tsx, and on Node 20 a worker does not inherit
    // the loader that --import registered: the worker registers tsx itself, then loads this file
    const worker = self.pathname.endsWith(".ts")
      ? new Worker(`import("tsx/esm/api").then((t) => { t.register(); return import(${JSON.stringify(self.href)}); });`, { eval: true, workerData: { meterlineDb: file } })
      : new Worker(self, { workerData: { meterlineDb: file } });
    const first = await new Promise<Answer>((ok, fail) => {
      worker.once("message", ok);
      worker.once("error", fail);
      worker.once("exit", (c) => fail(new Error(`the database's thread exited (${c}) before it opened ${file}`)));
    });
    if (first.error !== undefined) { await worker.terminate(); throw new Error(first.error); }
    return new ThreadedDb(file, worker);
  }

  private call<T>(req: Request): Promise<T> {
    if (this.closed) return Promise.reject(new Error("the database is closed"));
    const n = ++this.n;
    return new Promise<T>((ok, fail) => {
      this.waiting.set(n, { ok: ok as (v: unknown) => void, fail, op: req.op });
      this.worker.postMessage({ n, req });
    });
  }

  concentrator(id: string, port: string): Promise<void> { return this.call({ op: "concentrator", id, port }); }
  setStatus(id: string, status: "online" | "offline"): Promise<void> { return this.call({ op: "setStatus", id, status }); }
  cursor(id: string): Promise<number> { return this.call({ op: "cursor", id }); }

  /** A batch and the cursor after it, in one transaction (on the worker): the readings that were new. */
  async store(id: string, rows: Reading[], next: number): Promise<Reading[]> {
    const idx = await this.call<Uint32Array>({ op: "store", id, rows: columnsOf(rows), next });
    const added: Reading[] = new Array(idx.length);
    for (let k = 0; k < idx.length; k++) added[k] = rows[idx[k]];
    return added;
  }

  /** A batch's events (on the worker): the new ones. */
  async events(id: string, list: MeterEvent[]): Promise<MeterEvent[]> {
    if (!list.length) return [];
    const idx = await this.call<Uint32Array>({ op: "events", id, list });
    return Array.from(idx, (i) => list[i]);
  }

  eventRows(concentrator?: string): Promise<EventRow[]> { return this.call({ op: "eventRows", concentrator }); }
  meters(id: string, list: MeterInfo[]): Promise<void> { return this.call({ op: "meters", id, list }); }
  registers(id: string): Promise<Register[]> { return this.call({ op: "registers", id }); }
  overview(page?: MeterPage): Promise<Overview> { return this.call({ op: "overview", page }); }
  series(meter: number, since: number, max?: number): Promise<Point[]> { return this.call({ op: "series", meter, since, max }); }
  /** Readings stored, oldest first (of one concentrator, or all). */
  readings(concentrator?: string): Promise<ReadingRow[]> { return this.call({ op: "readings", concentrator }); }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.call({ op: "close" }).catch(() => undefined);
    this.closed = true;
    await this.worker.terminate();
  }
}

if (!isMainThread && (workerData as { meterlineDb?: string } | null)?.meterlineDb !== undefined) serve((workerData as { meterlineDb: string }).meterlineDb);
