/*
 * Home Assistant's MQTT discovery (docs/headend.md, Home Assistant): with --homeassistant, a
 * retained config message for each meter register Home Assistant has a device class for, on
 * <prefix>/sensor/<unique_id>/config (the convention's <discovery_prefix>/<component>/<object_id>/config),
 * so energy, water and gas meters appear in it with their reading topic as the sensor's state.
 *
 * Which registers: a cumulative register (OBIS group D not the load profile's 29) of
 *   electricity (OBIS group A 1) in Wh: device_class energy;
 *   water (A 8) in m3: device_class water;  gas (A 7) in m3: device_class gas;
 * all state_class total_increasing (a meter's register only grows). Home Assistant takes m³
 * (with the superscript) for water and gas, not "m3": the unit is written so. Other registers
 * (reactive energy, power, the load profile's interval deltas) are not announced.
 */
import type { MeterInfo } from "./db";
import { readingTopic, statusTopic } from "./core";

export const DEFAULT_PREFIX = "homeassistant";

const KIND_NAMES: Record<number, string> = { 1: "electricity", 2: "water", 3: "gas" };

/** The device class and Home Assistant's unit of a register, or null when it is not announced. */
export function sensorClass(obis: string, unit: string): { deviceClass: "energy" | "water" | "gas" | "power"; unit: string; name: string } | null {
  const m = /^(\d+)-(\d+):(\d+)\.(\d+)\.(\d+)$/.exec(obis);
  if (!m || m[4] === "29") return null;
  // the total and the time-of-use rates (1-0:1.8.1 to 1.8.4); the billing period's maximum demand (1-0:1.6.0; the previous period's, *101, is not a sensor)
  if (m[1] === "1" && unit === "Wh") return { deviceClass: "energy", unit: "Wh", name: m[5] === "0" ? "Energy" : `Energy, rate ${m[5]}` };
  if (m[1] === "1" && m[3] === "1" && m[4] === "6" && unit === "W") return { deviceClass: "power", unit: "W", name: "Maximum demand" };
  if (m[1] === "8" && unit === "m3") return { deviceClass: "water", unit: "m³", name: "Water" };
  if (m[1] === "7" && unit === "m3") return { deviceClass: "gas", unit: "m³", name: "Gas" };
  return null;
}

/** The sensor's unique id: meterline_<concentrator>_<meter>_<OBIS with its separators as _>. */
export function uniqueId(concentrator: string, meter: number, obis: string): string {
  return `meterline_${concentrator}_${meter}_${obis.replace(/[-:.]/g, "_")}`;
}

/** The discovery config of one register (topic and payload), or null when Home Assistant has no class for it. */
export function discoveryConfig(prefix: string, concentrator: string, info: MeterInfo, obis: string, unit: string): { topic: string; payload: Record<string, unknown> } | null {
  const c = sensorClass(obis, unit);
  if (!c) return null;
  const id = uniqueId(concentrator, info.id, obis);
  const kind = KIND_NAMES[info.kind];
  return {
    topic: `${prefix}/sensor/${id}/config`,
    payload: {
      name: `${c.name} ${obis}`,
      unique_id: id,
      state_topic: readingTopic(concentrator, info.id, obis),
      value_template: "{{ value_json.value }}",
      unit_of_measurement: c.unit,
      device_class: c.deviceClass,
      state_class: c.deviceClass === "power" ? "measurement" : "total_increasing",
      availability_topic: statusTopic(concentrator),
      payload_available: "online",
      payload_not_available: "offline",
      device: {
        identifiers: [`meterline_meter_${info.id}`],
        name: `Meter ${info.id}`,
        manufacturer: "meterline",
        model: kind ? `${kind} meter` : "meter (kind not identified yet)",
        ...(info.version ? { sw_version: String(info.version) } : {}),
      },
      origin: { name: "meterline head-end" },
    },
  };
}
