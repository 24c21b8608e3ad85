import { afterEach, describe, expect, it } from "vitest";
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openConsole } from "../../tools/console/session";
import { HeadendDb } from "../../tools/headend/db";
import { Headend, type Attachment } from "../../tools/headend/core";
import { consoleNetwork, lineKey, replaceConcentrator, type ConsoleNetwork } from "../fixtures/headend-network";

const nets: ConsoleNetwork[] = [];
const heads: { h: Headend; db: HeadendDb }[] = [];
afterEach(async () => {
  for (const x of heads.splice(0)) { await x.h.stop(); x.db.close(); }
  for (const n of nets.splice(0)) await n.close();
});

/** A head-end on `file` attached to the network's console over TCP. */
async function headend(file: string, net: ConsoleNetwork): Promise<{ h: Headend; db: HeadendDb; at: Attachment }> {
  const db = new HeadendDb(file);
  const h = new Headend({ db, batch: 25, timeoutMs: 5000 });
  heads.push({ h, db });
  const at = await h.attach(await openConsole({ port: net.fake.url, timeoutMs: 5000 }));
  return { h, db, at };
}

async function stop(x: { h: Headend; db: HeadendDb }): Promise<void> {
  await x.h.stop();
  x.db.close();
  heads.splice(heads.findIndex((y) => y.h === x.h), 1);
}

/** The rows are exactly the readings the concentrator collected: none missing, none twice. */
function sameAsCollected(db: HeadendDb, net: ConsoleNetwork, onePositionEach = true): void {
  const rows = db.readings("7");
  const keys = rows.map((r) => `${r.meter}|${r.obis}|${r.time}`);
  expect(new Set(keys).size).toBe(keys.length);
  expect(keys.sort()).toEqual(net.collected.map(lineKey).sort());
  // positions too: each row came from its own store position (one store's life)
  if (onePositionEach) expect(new Set(rows.map((r) => r.pos)).size).toBe(rows.length);
}

describe("the head-end pulls readings incrementally and acknowledges them (a concentrator behind a console on TCP)", () => {
  it("stores every reading once across restarts of the head-end and of the concentrator, resuming from its own cursor", async () => {
    const net = await consoleNetwork([501, 502, 503], { id: 7, readingMinutes: 1 });
    nets.push(net);
    const file = join(mkdtempSync(join(tmpdir(), "headend-")), "h.db");
    let a = await headend(file, net);
    expect(a.at.id).toBe("7");
    net.advance(10 * 60_000);
    expect(net.collected.length).toBeGreaterThanOrEqual(27); // 3 meters, a round a minute
    expect(await a.at.pull()).toBe(net.collected.length); // in batches of 25
    sameAsCollected(a.db, net);
    const cursor = a.db.cursor("7");
    expect(net.conc.ctx.store.acked()).toBe(cursor); // acknowledged after the commit
    expect(a.db.db.prepare("SELECT status FROM concentrators WHERE id = '7'").get()).toEqual({ status: "online" });
    expect(a.db.db.prepare("SELECT count(*) AS n FROM meters WHERE concentrator = '7'").get()).toEqual({ n: 3 });

    // nothing new: nothing stored, nothing acknowledged again
    expect(await a.at.pull()).toBe(0);

    // the head-end stops; readings go on; a new head-end on the same database resumes
    await stop(a);
    net.advance(5 * 60_000);
    a = await headend(file, net);
    const before = net.collected.length;
    expect(await a.at.pull()).toBeGreaterThan(0);
    sameAsCollected(a.db, net);
    expect(net.collected.length).toBe(before);

    // the concentrator restarts (its store in Storage): the session reconnects, the pull goes on from the cursor
    net.advance(4 * 60_000);
    net.restart();
    net.advance(4 * 60_000);
    let got = 0;
    for (let i = 0; i < 20 && !got; i++) { got = await a.at.pull().catch(() => 0); if (!got) await new Promise((r) => setTimeout(r, 100)); }
    expect(got).toBeGreaterThan(0);
    sameAsCollected(a.db, net);
    expect(net.conc.ctx.store.acked()).toBe(a.db.cursor("7"));

    // a database restored from an older copy: the head-end asks from its older cursor and the replay adds no row twice
    const old = join(mkdtempSync(join(tmpdir(), "headend-")), "old.db");
    await stop(a);
    {
      const db = new HeadendDb(file);
      db.db.pragma("wal_checkpoint(TRUNCATE)");
      db.db.prepare("UPDATE cursors SET next = ?").run(Math.max(0, db.cursor("7") - 30));
      db.close();
      copyFileSync(file, old);
    }
    net.advance(3 * 60_000);
    a = await headend(old, net);
    expect(a.db.cursor("7")).toBeLessThan(net.conc.ctx.store.acked()); // the concentrator's acknowledgement is ahead
    expect(await a.at.pull()).toBeGreaterThan(0); // only the 3 minutes' new ones are new
    sameAsCollected(a.db, net);
    expect(a.db.cursor("7")).toBe(net.conc.ctx.store.acked());
  }, 120_000);

  it("asks a concentrator whose store was erased (positions from 0 again) from its start, so its new readings are not left behind", async () => {
    const ids = [511, 512];
    const net = await consoleNetwork(ids, { id: 7, readingMinutes: 1 }, 23);
    nets.push(net);
    const file = join(mkdtempSync(join(tmpdir(), "headend-")), "h.db");
    let a = await headend(file, net);
    net.advance(20 * 60_000);
    await a.at.pull();
    const cursor = a.db.cursor("7");
    expect(cursor).toBeGreaterThan(30);
    await stop(a);
    replaceConcentrator(net, { id: 7, readingMinutes: 1 }, ids);
    net.advance(5 * 60_000);
    expect(net.conc.ctx.store.end()).toBeLessThan(cursor);
    const log: string[] = [];
    const db = new HeadendDb(file);
    const h = new Headend({ db, batch: 25, timeoutMs: 5000, log: (l) => log.push(l) });
    heads.push({ h, db });
    const at = await h.attach(await openConsole({ port: net.fake.url, timeoutMs: 5000 }));
    expect(await at.pull()).toBeGreaterThanOrEqual(8);
    expect(log[0]).toMatch(/^headend: concentrator 7: its store ends at \d+, before the cursor \d+ \(erased or replaced\): asking from 0$/);
    sameAsCollected(db, net, false); // the new store's positions repeat the old one's
    expect(db.cursor("7")).toBe(net.conc.ctx.store.acked());
  }, 120_000);
});
