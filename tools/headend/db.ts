/*
 * The head-end's database: SQLite through better-sqlite3 (docs/headend.md, Schema).
 *
 *   concentrators (id, port, status, first_seen, last_seen)
 *   meters        (id, concentrator, kind, version, last_seen, quality, updated)
 *   readings      (concentrator, meter, obis, time, value REAL, unit, status, pos, received)
 *                 one row per (meter, obis, time): UNIQUE, and rows go in with INSERT OR IGNORE,
 *                 so a replay (a lost acknowledgement, a database restored from a copy) adds nothing
 *   cursors       (concentrator, next, updated): the store position to ask from next
 *
 * A batch of readings and the cursor after it are written in one transaction: the cursor
 * never runs ahead of the rows, and the concentrator is acknowledged only after it commits.
 */
import Database from "better-sqlite3";
import { EVENT_NAMES } from "../../firmware/protocol/catalogue";

/** An event code's name, or "EVENT_<code>" for one this head-end does not know. */
export function eventName(code: number): string {
  return EVENT_NAMES[code] ?? `EVENT_${code}`;
}

/** One reading as the concentrator's export("json", from, max) prints it. */
export interface Reading {
  pos: number;
  meter: number;
  obis: string;
  value: number;
  unit: string;
  time: number;
  status: number;
}

/** One event of a meter's event log as the export prints it (OBIS 0-0:99.98.0): its code, time, data and number in the meter's log. */
export interface MeterEvent {
  pos: number;
  meter: number;
  code: number;
  time: number;
  data: number;
  n: number;
}

/** An event as stored: with its code's name and where it came from. */
export interface EventRow extends MeterEvent { concentrator: string; name: string; received: number }

/** A meter as meterline.meters() lists it. */
/** A meter's register as its readings name it. */
export interface Register { meter: number; obis: string; unit: string }

export interface MeterInfo {
  id: number;
  kind: number;
  version: number;
  ok: number;
  missed: number;
  lastSeen: number;
  quality: number;
}

/** A concentrator as the concentrators table has it. */
export interface ConcentratorRow { id: string; port: string | null; status: string; first_seen: number; last_seen: number }

/** A meter as the meters table has it (kind and version 0 until the registry says them). */
export interface MeterRow { id: number; concentrator: string; kind: number; version: number; last_seen: number; quality: number; updated: number }

/** A register's newest reading. */
export interface LastReading { concentrator: string; meter: number; obis: string; value: number; unit: string; time: number; status: number }

/**
 * What the live page shows of the database (page.ts): every concentrator, the meters (all, or
 * one page of them), each of those meters' registers' newest reading, and how many meters there
 * are in all (of the concentrator asked for).
 */
export interface Overview { concentrators: ConcentratorRow[]; meters: MeterRow[]; last: LastReading[]; meterCount: number }

/** One page of meters, by id: `limit` from `offset` on, of one concentrator or all. */
export interface MeterPage { concentrator?: string; offset: number; limit: number }

/** One reading of a meter's series (the page's plot). */
export interface Point { obis: string; time: number; value: number; unit: string }

export interface ReadingRow extends Omit<Reading, "pos"> {
  concentrator: string;
  pos: number | null;
  received: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS concentrators (
  id TEXT PRIMARY KEY,
  port TEXT,
  status TEXT NOT NULL DEFAULT 'offline',
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meters (
  id INTEGER PRIMARY KEY,
  concentrator TEXT NOT NULL REFERENCES concentrators(id),
  kind INTEGER,
  version INTEGER,
  last_seen INTEGER,
  quality INTEGER,
  updated INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS readings (
  concentrator TEXT NOT NULL REFERENCES concentrators(id),
  meter INTEGER NOT NULL,
  obis TEXT NOT NULL,
  time INTEGER NOT NULL,
  value REAL NOT NULL,
  unit TEXT NOT NULL,
  status INTEGER NOT NULL,
  pos INTEGER,
  received INTEGER NOT NULL,
  UNIQUE (meter, obis, time)
);
CREATE INDEX IF NOT EXISTS readings_by_concentrator ON readings (concentrator, time);
CREATE TABLE IF NOT EXISTS events (
  concentrator TEXT NOT NULL REFERENCES concentrators(id),
  meter INTEGER NOT NULL,
  n INTEGER NOT NULL,
  code INTEGER NOT NULL,
  name TEXT NOT NULL,
  time INTEGER NOT NULL,
  data INTEGER NOT NULL,
  pos INTEGER,
  received INTEGER NOT NULL,
  UNIQUE (meter, n, code, time)
);
CREATE INDEX IF NOT EXISTS events_by_meter ON events (meter, time);
CREATE TABLE IF NOT EXISTS cursors (
  concentrator TEXT PRIMARY KEY REFERENCES concentrators(id),
  next INTEGER NOT NULL,
  updated INTEGER NOT NULL
);
`;

export class HeadendDb {
  readonly db: Database.Database;
  private readonly insertReading: Database.Statement;
  private readonly insertEvent: Database.Statement;
  private readonly eventsTx: (c: string, list: MeterEvent[], now: number) => MeterEvent[];
  private readonly setCursor: Database.Statement;
  private readonly commitTx: (c: string, rows: Reading[], next: number, now: number) => Reading[];

  constructor(readonly file: string) {
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL"); // a commit is on disk before the concentrator is acknowledged
    this.db.pragma("foreign_keys = ON");
    this.db.exec(SCHEMA);
    this.insertReading = this.db.prepare(
      "INSERT OR IGNORE INTO readings (concentrator, meter, obis, time, value, unit, status, pos, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.insertEvent = this.db.prepare(
      "INSERT OR IGNORE INTO events (concentrator, meter, n, code, name, time, data, pos, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.eventsTx = this.db.transaction((c: string, list: MeterEvent[], now: number) => {
      const added: MeterEvent[] = [];
      for (const e of list) if (this.insertEvent.run(c, e.meter, e.n, e.code, eventName(e.code), e.time, e.data, e.pos, now).changes) added.push(e);
      return added;
    });
    this.setCursor = this.db.prepare(
      "INSERT INTO cursors (concentrator, next, updated) VALUES (?, ?, ?) ON CONFLICT(concentrator) DO UPDATE SET next = excluded.next, updated = excluded.updated",
    );
    this.commitTx = this.db.transaction((c: string, rows: Reading[], next: number, now: number) => {
      const added: Reading[] = [];
      for (const r of rows) {
        if (this.insertReading.run(c, r.meter, r.obis, r.time, r.value, r.unit, r.status, r.pos, now).changes) added.push(r);
      }
      this.setCursor.run(c, next, now);
      return added;
    });
  }

  /** A concentrator attached (or seen again) on `port`. */
  concentrator(id: string, port: string, now = Date.now()): void {
    this.db.prepare(
      "INSERT INTO concentrators (id, port, status, first_seen, last_seen) VALUES (?, ?, 'online', ?, ?) ON CONFLICT(id) DO UPDATE SET port = excluded.port, status = 'online', last_seen = excluded.last_seen",
    ).run(id, port, now, now);
  }

  setStatus(id: string, status: "online" | "offline", now = Date.now()): void {
    this.db.prepare("UPDATE concentrators SET status = ?, last_seen = ? WHERE id = ?").run(status, now, id);
  }

  /** The position to ask concentrator `id` from next: 0 when it never was. */
  cursor(id: string): number {
    const r = this.db.prepare("SELECT next FROM cursors WHERE concentrator = ?").get(id) as { next: number } | undefined;
    return r ? r.next : 0;
  }

  /**
   * Stores a batch and the cursor after it in one transaction; returns the readings that were
   * new (a reading already stored, by meter, OBIS and time, is left as it is).
   */
  store(id: string, rows: Reading[], next: number, now = Date.now()): Reading[] {
    return this.commitTx(id, rows, next, now);
  }

  /**
   * A batch's events, before its readings and cursor (store): the ones that were new (an
   * event already stored, by meter, number, code and time, is left as it is, so a batch
   * asked for again after a failure files nothing twice).
   */
  events(id: string, list: MeterEvent[], now = Date.now()): MeterEvent[] {
    return list.length ? this.eventsTx(id, list, now) : [];
  }

  /** Events stored, oldest first (of one concentrator, or all). */
  eventRows(concentrator?: string): EventRow[] {
    const sql = "SELECT concentrator, meter, n, code, name, time, data, pos, received FROM events" + (concentrator ? " WHERE concentrator = ?" : "") + " ORDER BY rowid";
    const st = this.db.prepare(sql);
    return (concentrator ? st.all(concentrator) : st.all()) as EventRow[];
  }

  /** The registry as the concentrator listed it. */
  meters(id: string, list: MeterInfo[], now = Date.now()): void {
    const st = this.db.prepare(
      "INSERT INTO meters (id, concentrator, kind, version, last_seen, quality, updated) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET concentrator = excluded.concentrator, kind = excluded.kind, version = excluded.version, last_seen = excluded.last_seen, quality = excluded.quality, updated = excluded.updated",
    );
    this.db.transaction(() => { for (const m of list) st.run(m.id, id, m.kind, m.version, m.lastSeen, m.quality, now); })();
  }

  /** Each register (meter, OBIS, unit) concentrator `id`'s readings have. */
  registers(id: string): Register[] {
    return this.db.prepare("SELECT DISTINCT meter, obis, unit FROM readings WHERE concentrator = ? ORDER BY meter, obis").all(id) as Register[];
  }

  /** The page's view of the database: every meter, or one page of them (its newest readings by the unique key's index). */
  overview(page?: MeterPage): Overview {
    const concentrators = this.db.prepare("SELECT id, port, status, first_seen, last_seen FROM concentrators ORDER BY id").all() as ConcentratorRow[];
    const cols = "SELECT id, concentrator, kind, version, last_seen, quality, updated FROM meters";
    if (!page) {
      const meters = this.db.prepare(`${cols} ORDER BY id`).all() as MeterRow[];
      // SQLite takes the other columns of a MAX() group from the row that holds the maximum
      const last = this.db.prepare("SELECT concentrator, meter, obis, value, unit, MAX(time) AS time, status FROM readings GROUP BY meter, obis ORDER BY meter, obis").all() as LastReading[];
      return { concentrators, meters, last, meterCount: meters.length };
    }
    const where = page.concentrator === undefined ? "" : " WHERE concentrator = ?";
    const args = page.concentrator === undefined ? [] : [page.concentrator];
    const meters = this.db.prepare(`${cols}${where} ORDER BY id LIMIT ? OFFSET ?`).all(...args, page.limit, page.offset) as MeterRow[];
    const meterCount = (this.db.prepare(`SELECT count(*) AS n FROM meters${where}`).get(...args) as { n: number }).n;
    const last = meters.length
      ? this.db.prepare(`SELECT concentrator, meter, obis, value, unit, MAX(time) AS time, status FROM readings WHERE meter IN (${meters.map(() => "?").join(",")}) GROUP BY meter, obis ORDER BY meter, obis`).all(...meters.map((m) => m.id)) as LastReading[]
      : [];
    return { concentrators, meters, last, meterCount };
  }

  /** Meter `meter`'s readings at `since` (Unix s) and after, by time: at most `max`, the newest. */
  series(meter: number, since: number, max = 5000): Point[] {
    const rows = this.db.prepare("SELECT obis, time, value, unit FROM readings WHERE meter = ? AND time >= ? ORDER BY time DESC, obis LIMIT ?").all(meter, since, max) as Point[];
    return rows.reverse();
  }

  /** Readings stored, oldest first (of one concentrator, or all). */
  readings(concentrator?: string): ReadingRow[] {
    const sql = "SELECT concentrator, meter, obis, time, value, unit, status, pos, received FROM readings" + (concentrator ? " WHERE concentrator = ?" : "") + " ORDER BY rowid";
    const st = this.db.prepare(sql);
    return (concentrator ? st.all(concentrator) : st.all()) as ReadingRow[];
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
