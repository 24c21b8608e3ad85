import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadendDb } from "../../tools/headend/db";
import { Headend } from "../../tools/headend/core";
import { embeddedBroker } from "../../tools/headend/mqtt";
import { benchNetwork } from "../../tools/headend/bench";
import { sensorClass } from "../../tools/headend/homeassistant";
import { subscriber, until } from "../fixtures/mqtt-subscriber";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => { for (const c of closers.splice(0).reverse()) await c(); });
const sub = (url: string, filter: string) => subscriber(url, filter, closers);


/** The bench's meters (bench/scenarios/default.json): their register, class and unit as Home Assistant takes them. */
const METERS: [id: number, obis: string, deviceClass: string, unit: string, model: string][] = [
  [1001, "1-0:1.8.0", "energy", "Wh", "electricity meter"], [1002, "1-0:1.8.0", "energy", "Wh", "electricity meter"],
  [1003, "1-0:1.8.0", "energy", "Wh", "electricity meter"], [1004, "8-0:1.0.0", "water", "m³", "water meter"],
  [1005, "8-0:1.0.0", "water", "m³", "water meter"], [1006, "7-0:3.0.0", "gas", "m³", "gas meter"],
  [1007, "1-0:1.8.0", "energy", "Wh", "electricity meter"], [1008, "7-0:3.0.0", "gas", "m³", "gas meter"],
];

describe("--homeassistant: Home Assistant's MQTT discovery (the bench network, the embedded broker)", () => {
  it("publishes a retained sensor config for each meter's register, field by field, and again when a meter's version changes", async () => {
    const bench = benchNetwork({ id: 2, startTime: 1_800_000_000 });
    const broker = await embeddedBroker(0, "127.0.0.1");
    closers.push(() => broker.close());
    const file = join(mkdtempSync(join(tmpdir(), "headend-")), "h.db");
    const db = new HeadendDb(file);
    closers.push(() => db.close());
    const h = new Headend({ db, mqtt: broker, homeassistant: "ha" });
    closers.push(() => h.stop());
    const live = await sub(broker.url, "ha/#");
    await h.attach(bench.console);
    // the bench's identify round may miss a meter on its lossy line: ask again until each has its kind and version
    const reg = bench.conc.ctx.registry;
    for (let t = 0; t < 20 && METERS.some(([id]) => reg.kind(reg.find(id)) === 0); t++) {
      await bench.console.command("meterline.identify()");
      for (let i = 0; i < 30; i++) bench.rig.clock.advance(1000);
    }
    for (let i = 0; i < 3 * 60; i++) bench.rig.clock.advance(1000);
    await h.pullAll();
    await until(() => live.length >= METERS.length);
    expect(live.map((m) => m.topic).sort()).toEqual(METERS.map(([id, obis]) => `ha/sensor/meterline_2_${id}_${obis.replace(/[-:.]/g, "_")}/config`).sort());
    for (const [id, obis, deviceClass, unit, model] of METERS) {
      const uid = `meterline_2_${id}_${obis.replace(/[-:.]/g, "_")}`;
      const m = live.find((x) => x.topic === `ha/sensor/${uid}/config`)!;
      const c = JSON.parse(m.payload);
      expect(c.unique_id).toBe(uid);
      expect(c.name).toBe(`${deviceClass === "energy" ? "Energy" : deviceClass === "water" ? "Water" : "Gas"} ${obis}`);
      expect(c.device_class).toBe(deviceClass);
      expect(c.state_class).toBe("total_increasing");
      expect(c.unit_of_measurement).toBe(unit);
      expect(c.state_topic).toBe(`meterline/2/${id}/${obis}`);
      expect(c.value_template).toBe("{{ value_json.value }}");
      expect([c.availability_topic, c.payload_available, c.payload_not_available]).toEqual(["meterline/2/status", "online", "offline"]);
      expect(c.device).toEqual({ identifiers: [`meterline_meter_${id}`], name: `Meter ${id}`, manufacturer: "meterline", model, sw_version: "1" });
      expect(c.origin).toEqual({ name: "meterline head-end" });
      expect(Object.keys(c).sort()).toEqual(["availability_topic", "device", "device_class", "name", "origin", "payload_available", "payload_not_available", "state_class", "state_topic", "unique_id", "unit_of_measurement", "value_template"]);
    }
    // the state topic carries what value_template reads: the register's value, as stored
    const row = db.readings("2").filter((r) => r.meter === 1004).at(-1)!;
    expect(row.unit).toBe("m3");

    // a later subscriber (Home Assistant starting) gets every config, retained
    const late = await sub(broker.url, "ha/#");
    await until(() => late.length >= METERS.length);
    expect(late.length).toBe(METERS.length);
    expect(late.every((m) => m.retain)).toBe(true);

    // more readings of the same registers publish no config again; a meter on a new version is announced again
    const count = live.length;
    for (let i = 0; i < 2 * 60; i++) bench.rig.clock.advance(1000);
    await h.pullAll();
    reg.setInfo(reg.find(1006), reg.kind(reg.find(1006)), 2);
    await h.attached[0].refreshMeters();
    await until(() => live.length > count);
    expect(live.slice(count).map((m) => [m.topic, JSON.parse(m.payload).device.sw_version])).toEqual([["ha/sensor/meterline_2_1006_7_0_3_0_0/config", "2"]]);

    // a head-end restarted on its database announces the registers it has stored, before any new reading
    await h.stop();
    const h2 = new Headend({ db, mqtt: broker, homeassistant: "ha" });
    closers.push(() => h2.stop());
    const again = await sub(broker.url, "ha/sensor/+/config");
    await until(() => again.length >= METERS.length);
    const retainedCount = again.length;
    bench.console.reopen();
    await h2.attach(bench.console);
    await h2.attached[0].refreshMeters();
    await until(() => again.length >= retainedCount + METERS.length);
    expect(again.length - retainedCount).toBe(METERS.length);
  }, 120_000);

  it("announces only the registers Home Assistant has a class for", () => {
    expect(sensorClass("1-0:1.8.0", "Wh")).toEqual({ deviceClass: "energy", unit: "Wh", name: "Energy" });
    expect(sensorClass("8-0:1.0.0", "m3")).toEqual({ deviceClass: "water", unit: "m³", name: "Water" });
    expect(sensorClass("7-0:3.0.0", "m3")).toEqual({ deviceClass: "gas", unit: "m³", name: "Gas" });
    expect(sensorClass("1-0:1.29.0", "Wh")).toBeNull(); // a load profile's interval deltas
    expect(sensorClass("1-0:3.8.0", "varh")).toBeNull();
    expect(sensorClass("1-0:1.7.0", "W")).toBeNull();
    // time of use (issue 20): the rates are energy sensors, the period's maximum demand a power one; the previous period's is not a sensor
    expect(sensorClass("1-0:1.8.2", "Wh")).toEqual({ deviceClass: "energy", unit: "Wh", name: "Energy, rate 2" });
    expect(sensorClass("1-0:1.6.0", "W")).toEqual({ deviceClass: "power", unit: "W", name: "Maximum demand" });
    expect(sensorClass("1-0:1.6.0*101", "W")).toBeNull();
  });
});
