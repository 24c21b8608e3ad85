import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openConsole } from "../../tools/console/session";
import { HeadendDb } from "../../tools/headend/db";
import { Headend } from "../../tools/headend/core";
import { consoleNetwork, lineKey, type ConsoleNetwork } from "../fixtures/headend-network";

const nets: ConsoleNetwork[] = [];
const heads: { h: Headend; db: HeadendDb }[] = [];
afterEach(async () => {
  for (const x of heads.splice(0)) { await x.h.stop(); x.db.close(); }
  for (const n of nets.splice(0)) await n.close();
});

describe("a concentrator whose readings store is full", () => {
  it("takes readings again once the head-end has stored and acknowledged what it kept, and the head-end misses none", async () => {
    // 2 files of 100 readings: 4 meters a minute fill it in about 50 minutes
    const net = await consoleNetwork([601, 602, 603, 604], { id: 9, readingMinutes: 1, storeFiles: 2 }, 33);
    nets.push(net);
    net.advance(70 * 60_000);
    const store = net.conc.ctx.store;
    expect(net.refused).toBeGreaterThan(0); // full: readings refused (the meters keep them)
    const full = net.collected.length;
    expect(full).toBeLessThanOrEqual(200);
    expect(store.start()).toBe(0);
    net.advance(5 * 60_000);
    expect(net.collected.length).toBe(full); // nothing goes in while it is full

    const db = new HeadendDb(join(mkdtempSync(join(tmpdir(), "headend-")), "h.db"));
    const h = new Headend({ db, batch: 100, timeoutMs: 5000 });
    heads.push({ h, db });
    const at = await h.attach(await openConsole({ port: net.fake.url, timeoutMs: 5000 }));
    expect(await at.pull()).toBe(full);
    expect(store.acked()).toBe(db.cursor("9"));
    expect(store.start()).toBeGreaterThan(0); // acknowledged files freed

    // collection resumes; the head-end takes the new readings too
    net.advance(10 * 60_000);
    expect(net.collected.length).toBeGreaterThanOrEqual(full + 30);
    expect(await at.pull()).toBe(net.collected.length - full);
    const keys = db.readings("9").map((r) => `${r.meter}|${r.obis}|${r.time}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual(net.collected.map(lineKey).sort());
    // and it keeps going through several more fills, acknowledged each time
    for (let i = 0; i < 3; i++) { net.advance(40 * 60_000); await at.pull(); }
    expect(db.readings("9").length).toBe(net.collected.length);
    expect(net.collected.length).toBeGreaterThan(full + 400);
  }, 120_000);
});
