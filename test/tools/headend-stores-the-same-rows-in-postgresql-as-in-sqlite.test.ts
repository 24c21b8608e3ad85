import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadendDb, type EventRow, type ReadingRow } from "../../tools/headend/db";
import { PgDb } from "../../tools/headend/pg";
import { Headend } from "../../tools/headend/core";
import { benchNetwork } from "../../tools/headend/bench";
import { startPostgres, type Postgres } from "../fixtures/postgres";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => { for (const c of closers.splice(0).reverse()) await c(); });

let pgServer: Postgres | null | undefined;

describe("--db postgres://: the head-end on a real PostgreSQL server (Debian's package; started here, under CI it must start)", () => {
  it("stores the same rows as SQLite from the same network, and resumes from its cursor after a restart without a duplicate", async (t) => {
    pgServer = await startPostgres();
    if (!pgServer) { t.skip(); return; } // no PostgreSQL outside CI: .ci/run installs it
    closers.push(() => pgServer!.stop());
    // two identical bench networks (the same seed, the same virtual time): one head-end on each database
    const a = benchNetwork({ id: 3, startTime: 1_800_000_000 }), b = benchNetwork({ id: 3, startTime: 1_800_000_000 });
    const lite = new HeadendDb(join(mkdtempSync(join(tmpdir(), "headend-")), "h.db"));
    closers.push(() => lite.close());
    let pg = await PgDb.open(pgServer.url);
    closers.push(() => pg.close());
    const hl = new Headend({ db: lite, batch: 20 });
    let hp = new Headend({ db: pg, batch: 20 });
    await hl.attach(a.console);
    await hp.attach(b.console);
    const both = (ms: number) => { for (let t = 0; t < ms; t += 1000) { a.rig.clock.advance(1000); b.rig.clock.advance(1000); } };
    both(5 * 60_000);
    // a round of the meters' event logs on both (asked again while a register round holds the line)
    for (const net of [a, b]) {
      for (let k = 0; k < 30 && (await net.console.command("meterline.events()")).value !== "0"; k++) both(1000);
    }
    both(2 * 60_000);
    const n = await hl.pullAll();
    expect(n).toBeGreaterThan(20);
    expect(await hp.pullAll()).toBe(n);

    // the PostgreSQL head-end restarts on its database; both go on
    await hp.stop();
    await pg.close();
    both(4 * 60_000);
    pg = await PgDb.open(pgServer.url);
    hp = new Headend({ db: pg, batch: 20 });
    b.console.reopen();
    await hp.attach(b.console);
    expect(await hp.pullAll()).toBe(await hl.pullAll());

    const strip = (rows: ReadingRow[]) => rows.map(({ received, ...r }) => { void received; return r; }).sort((x, y) => (x.pos as number) - (y.pos as number));
    const pr = strip(await pg.readings("3")), lr = strip(lite.readings("3"));
    expect(pr.length).toBeGreaterThan(n);
    expect(pr).toEqual(lr);
    expect(await pg.cursor("3")).toBe(lite.cursor("3"));
    // the events too: the same rows, names included
    const ev = (rows: EventRow[]) => rows.map(({ received, ...r }) => { void received; return r; }).sort((x, y) => x.pos - y.pos || x.meter - y.meter || x.n - y.n);
    const pe = ev(await pg.eventRows("3")), le = ev(lite.eventRows("3"));
    expect(le.length).toBeGreaterThanOrEqual(8);
    expect(le.filter((e) => e.name === "POWER_UP").length).toBeGreaterThanOrEqual(1);
    expect(pe).toEqual(le);
    expect(await pg.cursor("3")).toBe(b.conc.ctx.store.acked());
    expect((await pg.query("SELECT count(*)::int AS n FROM meters WHERE concentrator = '3'")).rows[0].n).toBe(8);
    // what the live page reads: each register's newest reading and a meter's series, the same in both
    const po = await pg.overview(), lo = lite.overview();
    expect(po.last).toEqual(lo.last);
    expect(po.last.length).toBeGreaterThanOrEqual(8);
    // (the registry's uptime and quality differ: the restarted PostgreSQL head-end asked it again)
    const who = (ms: { id: number; concentrator: string; kind: number; version: number }[]) => ms.map((m) => [m.id, m.concentrator, m.kind, m.version]);
    expect(who(po.meters)).toEqual(who(lo.meters));
    expect(po.concentrators.map((c) => [c.id, c.status])).toEqual([["3", "online"]]);
    // one page of meters (the live page's paging): the same meters, counts and newest readings in both
    for (const page of [{ offset: 2, limit: 3 }, { concentrator: "3", offset: 6, limit: 5 }, { concentrator: "9", offset: 0, limit: 5 }]) {
      const pp = await pg.overview(page), lp = lite.overview(page);
      expect(who(pp.meters)).toEqual(who(lp.meters));
      expect(pp.last).toEqual(lp.last);
      expect(pp.meterCount).toBe(lp.meterCount);
    }
    expect(lite.overview({ offset: 2, limit: 3 }).meters.map((m) => m.id)).toEqual(lo.meters.slice(2, 5).map((m) => m.id));
    expect(lite.overview({ concentrator: "3", offset: 6, limit: 5 })).toMatchObject({ meterCount: 8 });
    expect(lite.overview({ concentrator: "3", offset: 6, limit: 5 }).meters.length).toBe(2);
    expect(lite.overview({ concentrator: "9", offset: 0, limit: 5 })).toMatchObject({ meters: [], last: [], meterCount: 0 });
    expect(await pg.series(1001, 0)).toEqual(lite.series(1001, 0));
    expect(lite.series(1001, 0).length).toBe(lr.filter((r) => r.meter === 1001).length);
    expect(await pg.series(1001, lr[lr.length - 1].time - 120, 2)).toEqual(lite.series(1001, lr[lr.length - 1].time - 120, 2));
    expect(lite.series(1001, 0, 2).map((p) => p.time)).toEqual(lr.filter((r) => r.meter === 1001).map((r) => r.time).sort((x, y) => x - y).slice(-2));
    // the unique key holds: the same batch stored again adds nothing
    const again = pr.slice(0, 5).map((r) => ({ pos: r.pos as number, meter: r.meter, obis: r.obis, value: r.value, unit: r.unit, time: r.time, status: r.status }));
    expect(await pg.store("3", again, await pg.cursor("3"))).toEqual([]);
    await hp.stop();
  }, 120_000);
});
