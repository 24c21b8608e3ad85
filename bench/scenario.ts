/*
 * Scenario files for the bench: who is on the line, the line itself, the day of readings,
 * the image and the power cuts. `loadScenario` checks every field and names the first bad
 * one: "scenario.cuts[1].during: must be "download" or "swap"".
 */
import { readFileSync } from "node:fs";
import { loadProfile } from "../tools/profiles/profiles";
import { Id, P } from "../firmware/protocol/catalogue";
import { scheduleBytes } from "../firmware/concentrator/console";

export type MeterKind = "electricity" | "water" | "gas";
export const KIND_CODE: Record<MeterKind, number> = { electricity: 1, water: 2, gas: 3 };

export interface ScenarioMeter {
  id: number;
  kind: MeterKind;
  /** Average pulses per hour during the readings day. */
  pulsesPerHour: number;
  /** Loss on this meter's link to the concentrator, replacing the line's (1: unreachable). */
  loss?: number;
  /** A real board running our bundle: a serial device path or tcp://host:port (hardware in the loop). */
  attach?: string;
}

export interface Cut {
  meter: number;
  /**
   * "download": when the meter holds `atFraction` of the blocks; "swap": at flash operation
   * `atOperation` of the boot routine's install; "readings": an outage `atHour` hours into the
   * day of readings (the meter keeps what it last saved; its event log times the outage).
   */
  during: "download" | "swap" | "readings";
  atFraction: number;
  atOperation: number;
  atHour: number;
  offSeconds: number;
}

/**
 * A neighbouring concentrator on the same line with meters of its own (docs/concentrator.md,
 * Neighbouring concentrators): its meters hear both concentrators, it does not reach ours. It
 * takes its meters by discovery before ours does, sets their clock, collects their readings
 * through the day and the campaign; the verdict checks that our campaign and rounds never
 * touched them and its store holds its meters' readings only.
 */
export interface Neighbour { id: number; meters: ScenarioMeter[] }

export interface Scenario {
  name: string;
  seed: number;
  modem: "st7580" | "transparent";
  /** Line bit rate (bit/s). */
  bitRate: number;
  /** Average frame loss, and the mean length of a loss burst in frames (1: independent losses). */
  loss: { p: number; meanBurst: number };
  meters: ScenarioMeter[];
  readings: { hours: number; readingMinutes: number };
  /** `compress`: the image travels packed (npm run image -- --compress), unpacked by the meters' boot routines. */
  image: { source: "bundle" | "synthetic"; size: number; blockSize: number; version: number; compress: boolean };
  cuts: Cut[];
  /** The campaign must end within this many minutes of virtual time. */
  deadlineMinutes: number;
  /** Meters and concentrator keyed (docs/security.md); the head-end authorises the campaign. */
  keys: boolean;
  /** The concentrator makes up the authorisation tags itself instead of relaying the head-end's. */
  forgedTags: boolean;
  /** The update method: "coded" (the default) or "patent". */
  method: "coded" | "patent";
  /**
   * A tariff schedule set on every simulated electricity meter after the clock (the console's
   * tariff and zone): the day's pulses then fall in its rates, and the verdict checks that the
   * rates add up to each register. Null: none.
   */
  tariff: { weekdays: string; weekend: string; zoneMinutes: number; dst: "EU" | "none" } | null;
  /** A second concentrator with its own meters (null: none). Ours is concentrator OUR_ID. */
  neighbour: Neighbour | null;
}

/** The scenario's own concentrator's id (its address on the line: 0xFFFF0000 + it). */
export const OUR_ID = 1;

export class ScenarioError extends Error {}

type Obj = Record<string, unknown>;

function fail(path: string, what: string): never { throw new ScenarioError(`${path}: ${what}`); }

function obj(v: unknown, path: string): Obj {
  if (!v || typeof v !== "object" || Array.isArray(v)) fail(path, "must be an object");
  return v as Obj;
}

function num(o: Obj, key: string, path: string, lo: number, hi: number, dflt?: number, whole = false): number {
  const v = o[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < lo || v > hi || (whole && v % 1 !== 0)) {
    fail(`${path}.${key}`, `must be ${whole ? "a whole number" : "a number"} from ${lo} to ${hi}${v === undefined ? " (missing)" : `, got ${JSON.stringify(v)}`}`);
  }
  return v;
}

function oneOf<T extends string>(o: Obj, key: string, path: string, allowed: readonly T[], dflt?: T): T {
  const v = o[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== "string" || !allowed.includes(v as T)) fail(`${path}.${key}`, `must be ${allowed.map((a) => `"${a}"`).join(" or ")}${v === undefined ? " (missing)" : `, got ${JSON.stringify(v)}`}`);
  return v as T;
}

function noExtra(o: Obj, path: string, known: string[]): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) fail(`${path}.${k}`, `unknown field (known: ${known.join(", ")})`);
}

/** Checks a parsed scenario; throws ScenarioError naming the first bad field. */
export function parseScenario(raw: unknown, path = "scenario"): Scenario {
  const o = obj(raw, path);
  noExtra(o, path, ["name", "seed", "modem", "bitRate", "loss", "meters", "readings", "image", "cuts", "deadlineMinutes", "keys", "forgedTags", "method", "tariff", "neighbour", "//"]);
  const name = o.name === undefined ? "unnamed" : typeof o.name === "string" && o.name ? o.name : fail(`${path}.name`, "must be a non-empty string");
  const modem = oneOf(o, "modem", path, ["st7580", "transparent"] as const, "st7580");
  const lo = obj(o.loss ?? {}, `${path}.loss`);
  noExtra(lo, `${path}.loss`, ["p", "meanBurst"]);
  const loss = { p: num(lo, "p", `${path}.loss`, 0, 1, 0), meanBurst: num(lo, "meanBurst", `${path}.loss`, 1, 1000, 1) };
  if (!Array.isArray(o.meters) || o.meters.length < 1 || o.meters.length > 1000) fail(`${path}.meters`, "must be a list of 1 to 1000 meters");
  const ids = new Set<number>();
  const meterList = (list: unknown[], lp: string, real: boolean) => list.map((m, i): ScenarioMeter => {
    const p = `${lp}[${i}]`;
    const mo = obj(m, p);
    noExtra(mo, p, real ? ["id", "kind", "pulsesPerHour", "loss", "attach"] : ["id", "kind", "pulsesPerHour"]);
    const id = num(mo, "id", p, 1, Id.MAX_METER, undefined, true);
    if (ids.has(id)) fail(`${p}.id`, `meter ${id} is listed twice`);
    ids.add(id);
    const attach = mo.attach;
    if (attach !== undefined && (typeof attach !== "string" || !(attach.startsWith("/") || /^tcp:\/\/[^:\/]+:\d+$/.test(attach)))) {
      fail(`${p}.attach`, `must be a serial device path (/dev/...) or tcp://host:port, got ${JSON.stringify(attach)}`);
    }
    return {
      id, kind: oneOf(mo, "kind", p, ["electricity", "water", "gas"] as const, "electricity"),
      pulsesPerHour: num(mo, "pulsesPerHour", p, 0, 36000, 500),
      loss: mo.loss === undefined ? undefined : num(mo, "loss", p, 0, 1),
      attach: attach as string | undefined,
    };
  });
  const meters = meterList(o.meters as unknown[], `${path}.meters`, true);
  const ro = obj(o.readings ?? {}, `${path}.readings`);
  noExtra(ro, `${path}.readings`, ["hours", "readingMinutes"]);
  const readings = { hours: num(ro, "hours", `${path}.readings`, 0, 24 * 31, 24), readingMinutes: num(ro, "readingMinutes", `${path}.readings`, 1, 1440, 15, true) };
  const io = obj(o.image ?? {}, `${path}.image`);
  noExtra(io, `${path}.image`, ["source", "size", "blockSize", "version", "compress"]);
  if (io.compress !== undefined && typeof io.compress !== "boolean") fail(`${path}.image.compress`, `must be true or false, got ${JSON.stringify(io.compress)}`);
  const source = oneOf(io, "source", `${path}.image`, ["bundle", "synthetic"] as const, "bundle");
  const image = {
    source,
    size: source === "synthetic" ? num(io, "size", `${path}.image`, 17, loadProfile("LINUX").maxImageSize, undefined, true) : 0,
    blockSize: num(io, "blockSize", `${path}.image`, 4, 212, 200, true),
    version: num(io, "version", `${path}.image`, 2, 0xffffffff, 2, true),
    compress: io.compress === true,
  };
  if (image.blockSize % 4) fail(`${path}.image.blockSize`, `must be a multiple of 4, got ${image.blockSize}`);
  if (source === "bundle" && io.size !== undefined) fail(`${path}.image.size`, "only for a synthetic image (a bundle image has the bundle's size)");
  if (!Array.isArray(o.cuts ?? [])) fail(`${path}.cuts`, "must be a list");
  const cuts = ((o.cuts ?? []) as unknown[]).map((c, i): Cut => {
    const p = `${path}.cuts[${i}]`;
    const co = obj(c, p);
    noExtra(co, p, ["meter", "during", "atFraction", "atOperation", "atHour", "offSeconds"]);
    const meter = num(co, "meter", p, 1, Id.MAX_METER, undefined, true);
    if (!ids.has(meter)) fail(`${p}.meter`, `meter ${meter} is not in scenario.meters`);
    if (meters.find((m) => m.id === meter)!.attach) fail(`${p}.meter`, `meter ${meter} is a real board: the bench cannot cut its power`);
    const during = oneOf(co, "during", p, ["download", "swap", "readings"] as const);
    return {
      meter, during,
      atFraction: during === "download" ? num(co, "atFraction", p, 0.01, 0.99, 0.5) : 0,
      atOperation: during === "swap" ? num(co, "atOperation", p, 1, 10000, 20, true) : 0,
      atHour: during === "readings" ? num(co, "atHour", p, 0.5, Math.max(0.5, readings.hours - 1), undefined) : 0,
      offSeconds: num(co, "offSeconds", p, 0, 86400, 30),
    };
  });
  const bool = (key: string, dflt: boolean): boolean => {
    const v = o[key];
    if (v === undefined) return dflt;
    if (typeof v !== "boolean") fail(`${path}.${key}`, `must be true or false, got ${JSON.stringify(v)}`);
    return v as boolean;
  };
  const real = meters.some((m) => m.attach);
  const keys = bool("keys", !real);
  if (keys && real) fail(`${path}.keys`, "boards in the loop carry the keys flash.sh --keys gave them, which the bench does not know: set keys to false");
  const forgedTags = bool("forgedTags", false);
  if (forgedTags && !keys) fail(`${path}.forgedTags`, "needs keys: true");
  const method = o.method === undefined ? "coded" : o.method;
  if (method !== "coded" && method !== "patent") fail(`${path}.method`, `must be "coded" or "patent", got ${JSON.stringify(method)}`);
  let tariff: Scenario["tariff"] = null;
  if (o.tariff !== undefined) {
    const to = obj(o.tariff, `${path}.tariff`), tp = `${path}.tariff`;
    noExtra(to, tp, ["weekdays", "weekend", "zoneMinutes", "dst"]);
    // the console's form, checked by the console's own parser
    const day = (k: string): string => {
      const v = to[k] === undefined && k === "weekend" ? to.weekdays : to[k];
      if (typeof v !== "string" || !scheduleBytes(v)) fail(`${tp}.${k}`, `must be up to four "HH:MM=rate" switches from "00:00" on quarter hours, in order, rates 1 to 4, got ${JSON.stringify(v)}`);
      return v as string;
    };
    const zoneMinutes = num(to, "zoneMinutes", tp, -720, 840, 0, true);
    if (zoneMinutes % 15) fail(`${tp}.zoneMinutes`, `must be whole quarter hours, got ${zoneMinutes}`);
    tariff = { weekdays: day("weekdays"), weekend: day("weekend"), zoneMinutes, dst: oneOf(to, "dst", tp, ["EU", "none"] as const, "none") };
  }
  let neighbour: Neighbour | null = null;
  if (o.neighbour !== undefined) {
    const np = `${path}.neighbour`, no = obj(o.neighbour, np);
    noExtra(no, np, ["id", "meters"]);
    const id = num(no, "id", np, 1, P.MAX_CONC, undefined, true);
    if (id === OUR_ID) fail(`${np}.id`, `must not be ${OUR_ID}, our concentrator's id`);
    if (!Array.isArray(no.meters) || no.meters.length < 1 || no.meters.length > 100) fail(`${np}.meters`, "must be a list of 1 to 100 meters");
    neighbour = { id, meters: meterList(no.meters as unknown[], `${np}.meters`, false) };
  }
  return {
    keys, forgedTags, method: method as "coded" | "patent", tariff, neighbour,
    name, seed: num(o, "seed", path, 0, 0xffffffff, 1, true), modem,
    bitRate: num(o, "bitRate", path, 50, 1_000_000, modem === "st7580" ? 9600 : 2400), loss, meters, readings, image, cuts,
    deadlineMinutes: num(o, "deadlineMinutes", path, 1, 100000, 240),
  };
}

/** Reads and checks a scenario file. */
export function loadScenario(file: string): Scenario {
  let text: string;
  try { text = readFileSync(file, "utf8"); } catch (e) { throw new ScenarioError(`${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`); }
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (e) { throw new ScenarioError(`${file}: not JSON: ${(e as Error).message}`); }
  return parseScenario(raw);
}
