import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadendDb } from "../../tools/headend/db";
import { Headend, statusNames } from "../../tools/headend/core";
import { embeddedBroker, type Publisher } from "../../tools/headend/mqtt";
import { benchNetwork } from "../../tools/headend/bench";
import { subscriber, until } from "../fixtures/mqtt-subscriber";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => { for (const c of closers.splice(0).reverse()) await c(); });
const sub = (url: string, filter: string) => subscriber(url, filter, closers);


describe("readings on MQTT through the embedded broker (the bench network, in process)", () => {
  it("publishes each new reading to meterline/<concentrator>/<meter>/<obis> with {value, unit, time, status}, retained, and the concentrator's status", async () => {
    const bench = benchNetwork({ id: 4, startTime: 1_800_000_000 });
    const broker: Publisher = await embeddedBroker(0, "127.0.0.1");
    closers.push(() => broker.close());
    const db = new HeadendDb(join(mkdtempSync(join(tmpdir(), "headend-")), "h.db"));
    closers.push(() => db.close());
    const h = new Headend({ db, mqtt: broker });
    closers.push(() => h.stop());
    expect(broker.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    const live = await sub(broker.url, "meterline/#");
    const at = await h.attach(bench.console);
    expect(at.id).toBe("4");

    for (let i = 0; i < 3 * 60; i++) bench.rig.clock.advance(1000); // three register rounds
    const n = await h.pullAll();
    expect(n).toBeGreaterThanOrEqual(2 * bench.meters.length);
    const rows = db.readings("4");
    expect(rows.length).toBe(n);
    await until(() => live.filter((m) => m.topic.split("/").length === 4 && !m.topic.endsWith("/status")).length >= n);

    const readings = live.filter((m) => /^meterline\/4\/\d+\/\d+-\d+:\d+\.\d+\.\d+$/.test(m.topic));
    expect(readings.length).toBe(n); // one message a new reading
    // each message is a row: topic by concentrator, meter and OBIS; payload value, unit, time, status
    for (const r of rows) {
      const m = readings.find((x) => x.topic === `meterline/4/${r.meter}/${r.obis}` && JSON.parse(x.payload).time === r.time);
      expect(m, `${r.meter} ${r.obis} ${r.time}`).toBeDefined();
      expect(JSON.parse(m!.payload)).toEqual({ value: r.value, unit: r.unit, time: r.time, status: r.status, statusNames: statusNames(r.obis, r.status) });
    }
    expect(readings.some((m) => m.topic === "meterline/4/1004/8-0:1.0.0" && JSON.parse(m.payload).unit === "m3")).toBe(true); // a water meter
    expect(live).toContainEqual({ topic: "meterline/4/status", payload: "online", retain: false });
    expect(live.some((m) => m.topic === "meterline/4/1001/status" && "version" in JSON.parse(m.payload))).toBe(true);

    // a subscriber that comes later gets the last value of each register (retained) and the status
    const late = await sub(broker.url, "meterline/4/#");
    await until(() => late.some((m) => m.topic === "meterline/4/status"));
    await until(() => late.filter((m) => m.topic.startsWith("meterline/4/1001/1-0")).length > 0);
    const last = rows.filter((r) => r.meter === 1001 && r.obis === "1-0:1.8.0").at(-1)!;
    const retained = late.find((m) => m.topic === "meterline/4/1001/1-0:1.8.0")!;
    expect(retained.retain).toBe(true);
    expect(JSON.parse(retained.payload)).toEqual({ value: last.value, unit: last.unit, time: last.time, status: last.status, statusNames: statusNames(last.obis, last.status) });
    expect(late.find((m) => m.topic === "meterline/4/status")).toEqual({ topic: "meterline/4/status", payload: "online", retain: true });

    // a pull with nothing new publishes nothing; stopping says offline
    const count = live.length;
    expect(await h.pullAll()).toBe(0);
    await h.stop();
    await until(() => live.length > count);
    expect(live.slice(count)).toEqual([{ topic: "meterline/4/status", payload: "offline", retain: false }]);
  }, 120_000);
});
