import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadendDb } from "../../tools/headend/db";
import { EVENT_OBIS, Headend, parseExport } from "../../tools/headend/core";
import { embeddedBroker, type Publisher } from "../../tools/headend/mqtt";
import { benchNetwork, InProcessConsole, meterlineOf } from "../../tools/headend/bench";
import { subscriber, until } from "../fixtures/mqtt-subscriber";
import { Ev } from "../../firmware/protocol/catalogue";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => { for (const c of closers.splice(0).reverse()) await c(); });

describe("the head-end and the meters' event logs", () => {
  it("stores each event once in its events table, publishes it on meterline/<c>/<meter>/events with its name, and files nothing twice after a restart", async () => {
    const bench = benchNetwork({ id: 5, startTime: 1_800_000_000 });
    const broker: Publisher = await embeddedBroker(0, "127.0.0.1");
    closers.push(() => broker.close());
    const file = join(mkdtempSync(join(tmpdir(), "headend-ev-")), "h.db");
    const db = new HeadendDb(file);
    closers.push(() => db.close());
    let h = new Headend({ db, mqtt: broker });
    const live = await subscriber(broker.url, "meterline/5/+/events", closers);
    await h.attach(bench.console);
    // a configuration change on one meter, then an events round
    const m1 = bench.rig.meters.get(bench.meters[0])!;
    expect(m1.meter.metering.setSetting(3, Uint8Array.of(42, 0))).toBe(0);
    // rounds until every meter answered (the bench line loses frames)
    const want = 2 * bench.meters.length + 1;
    for (let round = 0; round < 5 && db.eventRows("5").length < want; round++) {
      expect((await bench.console.command("meterline.events()")).value).toBe("0");
      for (let i = 0; i < 120; i++) bench.rig.clock.advance(1000);
      await h.pullAll();
    }
    const rows = db.eventRows("5");
    // every meter's first start: POWER_UP and REGISTER_RESET; the first meter's change
    expect(rows.length).toBe(2 * bench.meters.length + 1);
    for (const id of bench.meters) {
      expect(rows.filter((r) => r.meter === id).slice(0, 2).map((r) => [r.n, r.name])).toEqual([[1, "POWER_UP"], [2, "REGISTER_RESET"]]);
    }
    const change = rows.find((r) => r.code === Ev.CONFIG_CHANGED)!;
    expect(change).toMatchObject({ meter: bench.meters[0], n: 3, name: "CONFIG_CHANGED", data: 3 });
    expect(change.time).toBeGreaterThanOrEqual(1_800_000_000);
    // none of them is a reading
    expect(db.readings("5").some((r) => r.obis === EVENT_OBIS)).toBe(false);
    await until(() => live.length >= rows.length);
    expect(live.length).toBe(rows.length);
    const msg = live.find((m) => m.topic === `meterline/5/${bench.meters[0]}/events` && JSON.parse(m.payload).code === Ev.CONFIG_CHANGED)!;
    expect(JSON.parse(msg.payload)).toEqual({ n: 3, code: Ev.CONFIG_CHANGED, name: "CONFIG_CHANGED", time: change.time, data: 3 });

    // the head-end restarts with its database; another round and pull: nothing new, nothing twice
    await h.stop();
    let api: Record<string, unknown> = {};
    const con = new InProcessConsole("bench:concentrator-5", () => api);
    api = meterlineOf(bench.conc, con.print);
    h = new Headend({ db, mqtt: broker });
    closers.push(() => h.stop());
    await h.attach(con);
    expect((await con.command("meterline.events()")).value).toBe("0");
    for (let i = 0; i < 120; i++) bench.rig.clock.advance(1000);
    await h.pullAll();
    expect(db.eventRows("5").length).toBe(rows.length);
    // a batch asked for again (a failure before its cursor was stored) adds no event
    const evs: Parameters<typeof db.events>[1] = rows.map((r) => ({ pos: r.pos!, meter: r.meter, code: r.code, time: r.time, data: r.data, n: r.n }));
    expect(db.events("5", evs)).toEqual([]);
  }, 120_000);

  it("refuses an event line it cannot take whole, and takes one in order with readings", () => {
    const ok = [
      `{"pos":3,"meter":7,"obis":"1-0:1.8.0","value":1.5,"unit":"Wh","time":10,"status":0}`,
      `{"pos":4,"meter":7,"obis":"${EVENT_OBIS}","event":2,"time":11,"data":60,"n":9}`,
    ];
    const evs: { pos: number; meter: number; code: number; time: number; data: number; n: number }[] = [];
    expect(parseExport(ok, 3, evs).length).toBe(1);
    expect(evs).toEqual([{ pos: 4, meter: 7, code: 2, time: 11, data: 60, n: 9 }]);
    expect(() => parseExport([`{"pos":4,"meter":7,"obis":"${EVENT_OBIS}","event":2,"time":11,"n":9}`], 0, [])).toThrow(/event line without/);
    expect(() => parseExport([ok[1], `{"pos":4,"meter":7,"obis":"${EVENT_OBIS}","event":2,"time":11,"data":1,"n":10}`], 0, [])).toThrow(/out of order/);
  });
});
