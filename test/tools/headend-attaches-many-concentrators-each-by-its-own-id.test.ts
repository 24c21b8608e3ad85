import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openConsole } from "../../tools/console/session";
import { HeadendDb } from "../../tools/headend/db";
import { Headend } from "../../tools/headend/core";
import { consoleNetwork, lineKey, type ConsoleNetwork } from "../fixtures/headend-network";

const nets: ConsoleNetwork[] = [];
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  for (const n of nets.splice(0)) await n.close();
});

describe("one head-end, several concentrators", () => {
  it("names each by the id it answers, keeps a cursor for each, and refuses two consoles that say the same id", async () => {
    const a = await consoleNetwork([701, 702], { id: 11, readingMinutes: 1 }, 5);
    const b = await consoleNetwork([801, 802, 803], { id: 12, readingMinutes: 2 }, 6);
    const same = await consoleNetwork([901], { id: 11, readingMinutes: 1 }, 7);
    nets.push(a, b, same);
    const db = new HeadendDb(join(mkdtempSync(join(tmpdir(), "headend-")), "h.db"));
    closers.push(() => db.close());
    const h = new Headend({ db, batch: 10, timeoutMs: 5000 });
    closers.push(() => h.stop());
    const ca = await openConsole({ port: a.fake.url }), cb = await openConsole({ port: b.fake.url });
    expect((await h.attach(ca)).id).toBe("11");
    expect((await h.attach(cb)).id).toBe("12");
    const cs = await openConsole({ port: same.fake.url });
    closers.push(() => cs.close());
    await expect(h.attach(cs)).rejects.toThrow(`${same.fake.url} and ${a.fake.url} both say they are concentrator 11: each concentrator needs its own id`);

    a.advance(6 * 60_000);
    b.advance(6 * 60_000);
    expect(await h.pullAll()).toBe(a.collected.length + b.collected.length);
    const keys = (id: string) => db.readings(id).map((r) => `${r.meter}|${r.obis}|${r.time}`).sort();
    expect(keys("11")).toEqual(a.collected.map(lineKey).sort());
    expect(keys("12")).toEqual(b.collected.map(lineKey).sort());
    expect(db.cursor("11")).toBe(a.conc.ctx.store.acked());
    expect(db.cursor("12")).toBe(b.conc.ctx.store.acked());
    expect(db.db.prepare("SELECT id, status FROM concentrators ORDER BY id").all()).toEqual([{ id: "11", status: "online" }, { id: "12", status: "online" }]);
    expect(db.db.prepare("SELECT concentrator, count(*) AS n FROM meters GROUP BY concentrator ORDER BY concentrator").all()).toEqual([{ concentrator: "11", n: 2 }, { concentrator: "12", n: 3 }]);

    // one goes away: it is marked offline, the other goes on
    await a.close();
    nets.splice(nets.indexOf(a), 1);
    b.advance(4 * 60_000);
    await h.pullAll();
    expect(keys("12")).toEqual(b.collected.map(lineKey).sort());
    expect(db.db.prepare("SELECT status FROM concentrators WHERE id = '11'").get()).toEqual({ status: "offline" });
  }, 120_000);
});
