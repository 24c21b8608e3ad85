import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadendDb } from "../../tools/headend/db";
import { Headend, statusNames } from "../../tools/headend/core";
import { externalBroker } from "../../tools/headend/mqtt";
import { benchNetwork } from "../../tools/headend/bench";
import { MOSQUITTO_MISSING, startMosquitto } from "../fixtures/mosquitto";
import { subscriber, until } from "../fixtures/mqtt-subscriber";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => { for (const c of closers.splice(0).reverse()) await c(); });
const sub = (url: string, filter: string) => subscriber(url, filter, closers, 1);


const READING = /^meterline\/5\/\d+\/\d+-\d+:\d+\.\d+\.\d+$/;

describe("--mqtt to a real Mosquitto broker (Debian's package, started by the test; under CI it must start)", () => {
  it("delivers each new reading once on meterline/<concentrator>/<meter>/<obis> with the row's payload, the last one retained, and the status online then offline", async (t) => {
    const broker = await startMosquitto();
    if (!broker) t.skip(MOSQUITTO_MISSING);
    closers.push(() => broker!.stop());
    const bench = benchNetwork({ id: 5, startTime: 1_800_000_000 });
    const pub = await externalBroker(broker!.url, "headend-mosquitto-test");
    closers.push(() => pub.close());
    const db = new HeadendDb(join(mkdtempSync(join(tmpdir(), "headend-")), "h.db"));
    closers.push(() => db.close());
    const h = new Headend({ db, mqtt: pub });
    closers.push(() => h.stop());
    const live = await sub(broker!.url, "meterline/#");
    await h.attach(bench.console);

    for (let i = 0; i < 3 * 60; i++) bench.rig.clock.advance(1000); // three register rounds
    const n = await h.pullAll();
    expect(n).toBeGreaterThanOrEqual(2 * bench.meters.length);
    const rows = db.readings("5");
    expect(rows.length).toBe(n);
    await until(() => live.filter((m) => READING.test(m.topic)).length >= n);
    const readings = live.filter((m) => READING.test(m.topic));
    expect(readings.length).toBe(n); // QoS 1 through Mosquitto: each once, none lost
    for (const r of rows) {
      const m = readings.filter((x) => x.topic === `meterline/5/${r.meter}/${r.obis}` && JSON.parse(x.payload).time === r.time);
      expect(m.length, `${r.meter} ${r.obis} ${r.time}`).toBe(1);
      expect(JSON.parse(m[0].payload)).toEqual({ value: r.value, unit: r.unit, time: r.time, status: r.status, statusNames: statusNames(r.obis, r.status) });
    }
    expect(live).toContainEqual({ topic: "meterline/5/status", payload: "online", retain: false });

    // Mosquitto keeps the last value of each register for a subscriber that comes later
    const late = await sub(broker!.url, "meterline/5/#");
    const gas = rows.filter((r) => r.meter === 1008).at(-1)!;
    await until(() => late.some((m) => m.topic === `meterline/5/1008/${gas.obis}`) && late.some((m) => m.topic === "meterline/5/status"));
    const retained = late.find((m) => m.topic === `meterline/5/1008/${gas.obis}`)!;
    expect(retained.retain).toBe(true);
    expect(JSON.parse(retained.payload)).toEqual({ value: gas.value, unit: gas.unit, time: gas.time, status: gas.status, statusNames: statusNames(gas.obis, gas.status) });
    expect(late.find((m) => m.topic === "meterline/5/status")).toEqual({ topic: "meterline/5/status", payload: "online", retain: true });

    const count = live.length;
    await h.stop();
    await until(() => live.length > count);
    expect(live.slice(count)).toEqual([{ topic: "meterline/5/status", payload: "offline", retain: false }]);
  }, 120_000);
});
