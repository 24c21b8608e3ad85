/*
 * The head-end's database on PostgreSQL (--db postgres://...): the same tables and keys as
 * the SQLite one (db.ts; docs/headend.md, Schema), a batch and its cursor in one transaction.
 */
import pg from "pg";
import { eventName, type ConcentratorRow, type EventRow, type LastReading, type MeterEvent, type MeterInfo, type MeterPage, type MeterRow, type Overview, type Point, type Reading, type ReadingRow, type Register } from "./db";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS concentrators (
  id TEXT PRIMARY KEY,
  port TEXT,
  status TEXT NOT NULL DEFAULT 'offline',
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS meters (
  id BIGINT PRIMARY KEY,
  concentrator TEXT NOT NULL REFERENCES concentrators(id),
  kind INTEGER,
  version BIGINT,
  last_seen BIGINT,
  quality INTEGER,
  updated BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS readings (
  concentrator TEXT NOT NULL REFERENCES concentrators(id),
  meter BIGINT NOT NULL,
  obis TEXT NOT NULL,
  time BIGINT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  unit TEXT NOT NULL,
  status INTEGER NOT NULL,
  pos BIGINT,
  received BIGINT NOT NULL,
  UNIQUE (meter, obis, time)
);
CREATE INDEX IF NOT EXISTS readings_by_concentrator ON readings (concentrator, time);
CREATE TABLE IF NOT EXISTS events (
  concentrator TEXT NOT NULL REFERENCES concentrators(id),
  meter BIGINT NOT NULL,
  n BIGINT NOT NULL,
  code INTEGER NOT NULL,
  name TEXT NOT NULL,
  time BIGINT NOT NULL,
  data BIGINT NOT NULL,
  pos BIGINT,
  received BIGINT NOT NULL,
  UNIQUE (meter, n, code, time)
);
CREATE INDEX IF NOT EXISTS events_by_meter ON events (meter, time);
CREATE TABLE IF NOT EXISTS cursors (
  concentrator TEXT PRIMARY KEY REFERENCES concentrators(id),
  next BIGINT NOT NULL,
  updated BIGINT NOT NULL
);
`;

// BIGINT comes back as a string by default: these fit a double
pg.types.setTypeParser(20, (v) => Number(v));

export class PgDb {
  private constructor(readonly url: string, private readonly pool: pg.Pool) {}

  /** Connects and makes the tables when missing. */
  static async open(url: string): Promise<PgDb> {
    const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000 });
    pool.on("error", () => undefined); // an idle client's error: the next query says it
    try {
      await pool.query(SCHEMA);
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e;
    }
    return new PgDb(url, pool);
  }

  get file(): string { return this.url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@"); }

  async concentrator(id: string, port: string, now = Date.now()): Promise<void> {
    await this.pool.query(
      "INSERT INTO concentrators (id, port, status, first_seen, last_seen) VALUES ($1, $2, 'online', $3, $3) ON CONFLICT (id) DO UPDATE SET port = excluded.port, status = 'online', last_seen = excluded.last_seen",
      [id, port, now],
    );
  }

  async setStatus(id: string, status: "online" | "offline", now = Date.now()): Promise<void> {
    await this.pool.query("UPDATE concentrators SET status = $1, last_seen = $2 WHERE id = $3", [status, now, id]);
  }

  async cursor(id: string): Promise<number> {
    const r = await this.pool.query("SELECT next FROM cursors WHERE concentrator = $1", [id]);
    return r.rows.length ? Number(r.rows[0].next) : 0;
  }

  /** Runs `work` on one client in a transaction: committed when it returns, rolled back when it throws. */
  private async transaction<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query("BEGIN");
      const v = await work(c);
      await c.query("COMMIT");
      return v;
    } catch (e) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  async store(id: string, rows: Reading[], next: number, now = Date.now()): Promise<Reading[]> {
    return this.transaction(async (c) => {
      const added: Reading[] = [];
      for (const r of rows) {
        const q = await c.query(
          "INSERT INTO readings (concentrator, meter, obis, time, value, unit, status, pos, received) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (meter, obis, time) DO NOTHING",
          [id, r.meter, r.obis, r.time, r.value, r.unit, r.status, r.pos, now],
        );
        if (q.rowCount) added.push(r);
      }
      await c.query(
        "INSERT INTO cursors (concentrator, next, updated) VALUES ($1, $2, $3) ON CONFLICT (concentrator) DO UPDATE SET next = excluded.next, updated = excluded.updated",
        [id, next, now],
      );
      return added;
    });
  }

  /** A batch's events, before its readings and cursor (store): the new ones, as HeadendDb.events. */
  async events(id: string, list: MeterEvent[], now = Date.now()): Promise<MeterEvent[]> {
    if (!list.length) return [];
    return this.transaction(async (c) => {
      const added: MeterEvent[] = [];
      for (const e of list) {
        const q = await c.query(
          "INSERT INTO events (concentrator, meter, n, code, name, time, data, pos, received) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
          [id, e.meter, e.n, e.code, eventName(e.code), e.time, e.data, e.pos, now],
        );
        if (q.rowCount) added.push(e);
      }
      return added;
    });
  }

  async eventRows(concentrator?: string): Promise<EventRow[]> {
    const sql = "SELECT concentrator, meter, n, code, name, time, data, pos, received FROM events" + (concentrator ? " WHERE concentrator = $1" : "") + " ORDER BY pos, meter, n";
    const r = await this.pool.query(sql, concentrator ? [concentrator] : []);
    return r.rows as EventRow[];
  }

  async meters(id: string, list: MeterInfo[], now = Date.now()): Promise<void> {
    await this.transaction(async (c) => {
      for (const m of list) {
        await c.query(
          "INSERT INTO meters (id, concentrator, kind, version, last_seen, quality, updated) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET concentrator = excluded.concentrator, kind = excluded.kind, version = excluded.version, last_seen = excluded.last_seen, quality = excluded.quality, updated = excluded.updated",
          [m.id, id, m.kind, m.version, m.lastSeen, m.quality, now],
        );
      }
    });
  }

  async registers(id: string): Promise<Register[]> {
    const r = await this.pool.query("SELECT DISTINCT meter, obis, unit FROM readings WHERE concentrator = $1 ORDER BY meter, obis", [id]);
    return r.rows.map((x: { meter: string | number; obis: string; unit: string }) => ({ meter: Number(x.meter), obis: x.obis, unit: x.unit }));
  }

  async overview(page?: MeterPage): Promise<Overview> {
    const cols = "SELECT id, concentrator, kind, version, last_seen, quality, updated FROM meters";
    const c = await this.pool.query("SELECT id, port, status, first_seen, last_seen FROM concentrators ORDER BY id");
    if (!page) {
      const [m, l] = await Promise.all([
        this.pool.query(`${cols} ORDER BY id`),
        this.pool.query("SELECT DISTINCT ON (meter, obis) concentrator, meter, obis, value, unit, time, status FROM readings ORDER BY meter, obis, time DESC"),
      ]);
      return { concentrators: c.rows as ConcentratorRow[], meters: m.rows as MeterRow[], last: l.rows as LastReading[], meterCount: m.rows.length };
    }
    const one = page.concentrator !== undefined;
    const [m, n] = await Promise.all([
      this.pool.query(`${cols}${one ? " WHERE concentrator = $3" : ""} ORDER BY id LIMIT $1 OFFSET $2`, one ? [page.limit, page.offset, page.concentrator] : [page.limit, page.offset]),
      this.pool.query(`SELECT count(*)::int AS n FROM meters${one ? " WHERE concentrator = $1" : ""}`, one ? [page.concentrator] : []),
    ]);
    const ids = (m.rows as MeterRow[]).map((x) => x.id);
    const l = ids.length
      ? await this.pool.query("SELECT DISTINCT ON (meter, obis) concentrator, meter, obis, value, unit, time, status FROM readings WHERE meter = ANY($1) ORDER BY meter, obis, time DESC", [ids])
      : { rows: [] };
    return { concentrators: c.rows as ConcentratorRow[], meters: m.rows as MeterRow[], last: l.rows as LastReading[], meterCount: (n.rows[0] as { n: number }).n };
  }

  async series(meter: number, since: number, max = 5000): Promise<Point[]> {
    const r = await this.pool.query("SELECT obis, time, value, unit FROM readings WHERE meter = $1 AND time >= $2 ORDER BY time DESC, obis LIMIT $3", [meter, since, max]);
    return (r.rows as Point[]).reverse();
  }

  async readings(concentrator?: string): Promise<ReadingRow[]> {
    const sql = "SELECT concentrator, meter, obis, time, value, unit, status, pos, received FROM readings" + (concentrator ? " WHERE concentrator = $1" : "") + " ORDER BY pos, meter, obis, time";
    const r = await this.pool.query(sql, concentrator ? [concentrator] : []);
    return r.rows as ReadingRow[];
  }

  /** Runs SQL (tests, tools). */
  query(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
    return this.pool.query(sql, params);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
