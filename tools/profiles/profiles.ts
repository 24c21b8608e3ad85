/*
 * Board profiles: the schema, the validator and the loader. A profile is data
 * (board-profiles/<BOARD>.json); this file is the only reader. Errors name the field.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { decoder, rowsDecoder, type DecoderOf } from "../../firmware/meter/decoder";
import {
  APP_HEADER_SIZE, CONFIG_SIZE, regionNames, roleRegions, unitsSpanned,
  type FlashGeometry, type Region, type Regions,
} from "../../firmware/common/layout";
import { bufferLayout } from "../../firmware/common/update-image";

export const PROFILE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "board-profiles");

export type Role = "meter" | "concentrator";
export const ROLES: Role[] = ["meter", "concentrator"];
export const MODEM_KINDS = ["st7580", "transparent"] as const;
export type ModemKind = (typeof MODEM_KINDS)[number];
export const SERIAL_PORTS = ["Serial1", "Serial2", "Serial3", "Serial4", "Serial5", "Serial6"];
export const CRYPTO = ["SHA256", "SHA512"];

/** The share of maxImageSize a buffer must hold on a board that unpacks (declares packChunk). */
export const PACKED_SHARE = 0.75;

export interface BoardProfile {
  board: string;
  name: string;
  chip: string;
  /** Board code on the wire (IDENTITY.board, UPDATE_CONTROL.board): unique, 1..65535. */
  code: number;
  variables: number;
  memoryMapped: boolean;
  flash: FlashGeometry;
  freeAreas: { addr: number; length: number }[];
  regions: Regions;
  roles: Role[];
  rolesWhy: string;
  maxImageSize: number;
  /** Repair blocks a meter of this board keeps and decodes at once; 0: none, plain repair only. */
  repairRows: number;
  /**
   * How its meter decodes: "rows" (default), one block buffer in RAM per repair row, fast;
   * "streamed", one block buffer whatever the rows, each recovered block rebuilt from flash
   * (more reads): for the boards whose RAM cannot hold the rows (docs/update.md).
   */
  decode: "rows" | "streamed";
  /**
   * Plain bytes in each chunk of a packed image for this board (common/image.ts): the boot
   * routine holds one chunk (and its compressed bytes) in RAM while it installs. 1,024 to
   * 4,096, a multiple of 256; default 2,048. Measured ratios: docs/update.md, Packed images.
   */
  packChunk: number;
  /** E.enableWatchdog resets the chip when not kicked (STM32, nRF52); false where the interpreter does not implement it (ESP32, Linux). */
  watchdog: boolean;
  modem: { kind: ModemKind; uart: string; baud: number; lineBitRate?: number; tx?: string; rx?: string; path?: string; pins: { treq?: string; resetn?: string } };
  pulsePin: string | null;
  /** The meter cover's tamper switch: a pin, "console" on the Linux build (no pins: mlTamper() at its console), or null. */
  tamperPin: string | null;
  led: string | null;
  crypto: string[];
}

export class ProfileError extends Error {
  constructor(readonly board: string, readonly field: string, message: string) {
    super(`board profile ${board}: ${field}: ${message}`);
    this.name = "ProfileError";
  }
}

type Json = unknown;

/** Reads a hex string ("0x08040000") or a non-negative integer. */
function address(v: Json, fail: (m: string) => never): number {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === "string" && /^0x[0-9a-fA-F]{1,8}$/.test(v)) return parseInt(v, 16);
  return fail(`expected an address ("0x..." or a non-negative integer), got ${JSON.stringify(v)}`);
}

function int(v: Json, min: number, fail: (m: string) => never): number {
  if (typeof v === "number" && Number.isInteger(v) && v >= min) return v;
  return fail(`expected an integer >= ${min}, got ${JSON.stringify(v)}`);
}

function str(v: Json, fail: (m: string) => never, pattern?: RegExp): string {
  if (typeof v !== "string" || v.length === 0) return fail(`expected a non-empty string, got ${JSON.stringify(v)}`);
  if (pattern && !pattern.test(v)) return fail(`${JSON.stringify(v)} does not match ${pattern}`);
  return v;
}

function obj(v: Json, fail: (m: string) => never): Record<string, Json> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return fail(`expected an object, got ${JSON.stringify(v)}`);
  return v as Record<string, Json>;
}

function arr(v: Json, fail: (m: string) => never): Json[] {
  if (!Array.isArray(v)) return fail(`expected an array, got ${JSON.stringify(v)}`);
  return v;
}

const PIN = /^[A-H]?[0-9]{1,2}$|^D[0-9]{1,2}$/;

/** Validates raw JSON against the schema and the layout rules. Throws ProfileError naming the field. */
export function validateProfile(raw: Json, expectBoard?: string): BoardProfile {
  const board0 = typeof raw === "object" && raw && typeof (raw as { board?: unknown }).board === "string" ? (raw as { board: string }).board : expectBoard ?? "?";
  const at = (field: string) => (m: string): never => { throw new ProfileError(board0, field, m); };
  const r = obj(raw, at("(root)"));
  const known = ["board", "code", "name", "chip", "variables", "memoryMapped", "flash", "freeAreas", "regions", "roles", "rolesWhy", "maxImageSize", "repairRows", "decode", "packChunk", "watchdog", "modem", "pulsePin", "tamperPin", "led", "crypto"];
  for (const k of Object.keys(r)) if (!known.includes(k)) at(k)("unknown field");
  const board = str(r.board, at("board"), /^[A-Z0-9]+$/);
  if (expectBoard && board !== expectBoard) at("board")(`must equal the file name ${expectBoard}`);
  const code = int(r.code, 1, at("code"));
  if (code > 0xffff) at("code")("must fit a u16 (1..65535)");
  const name = str(r.name, at("name"));
  const chip = str(r.chip, at("chip"));
  const variables = int(r.variables, 1000, at("variables"));
  if (typeof r.memoryMapped !== "boolean") at("memoryMapped")("expected true or false");

  const f = obj(r.flash, at("flash"));
  const base = address(f.base, at("flash.base"));
  const size = int(f.size, 1024, at("flash.size"));
  const writeAlign = int(f.writeAlign, 1, at("flash.writeAlign"));
  if (writeAlign !== 4) at("flash.writeAlign")("meterline programs whole 4-byte words: must be 4");
  const runs = arr(f.eraseUnits, at("flash.eraseUnits")).map((u, i) => {
    const o = obj(u, at(`flash.eraseUnits[${i}]`));
    return {
      addr: address(o.addr, at(`flash.eraseUnits[${i}].addr`)),
      size: int(o.size, 256, at(`flash.eraseUnits[${i}].size`)),
      count: int(o.count, 1, at(`flash.eraseUnits[${i}].count`)),
    };
  });
  if (runs.length === 0) at("flash.eraseUnits")("needs at least one run");
  let next = base;
  runs.forEach((u, i) => {
    if (u.addr !== next) at(`flash.eraseUnits[${i}].addr`)(`runs must be contiguous from flash.base: expected 0x${next.toString(16)}`);
    if (u.size % writeAlign) at(`flash.eraseUnits[${i}].size`)("not a multiple of flash.writeAlign");
    next = u.addr + u.size * u.count;
  });
  if (next !== base + size) at("flash.size")(`erase units cover 0x${(next - base).toString(16)} bytes, not ${size}`);
  const flash: FlashGeometry = { base, size, eraseUnits: runs, writeAlign };

  const freeAreas = arr(r.freeAreas, at("freeAreas")).map((a, i) => {
    const o = obj(a, at(`freeAreas[${i}]`));
    const fa = { addr: address(o.addr, at(`freeAreas[${i}].addr`)), length: int(o.length, 1, at(`freeAreas[${i}].length`)) };
    if (fa.addr < base || fa.addr + fa.length > base + size) at(`freeAreas[${i}]`)("outside the chip's flash");
    return fa;
  });

  const regObj = obj(r.regions, at("regions"));
  const regions: Regions = {};
  const list: [string, Region][] = [];
  for (const k of Object.keys(regObj)) {
    if (!regionNames().includes(k)) at(`regions.${k}`)(`unknown region (known: ${regionNames().join(", ")})`);
    const o = obj(regObj[k], at(`regions.${k}`));
    const reg = { addr: address(o.addr, at(`regions.${k}.addr`)), size: int(o.size, 1, at(`regions.${k}.size`)) };
    if (reg.addr < base || reg.addr + reg.size > base + size) at(`regions.${k}`)("outside the chip's flash");
    if (unitsSpanned(flash, reg) < 0) at(`regions.${k}`)("does not start and end on erase-unit boundaries");
    if (!freeAreas.some((a) => reg.addr >= a.addr && reg.addr + reg.size <= a.addr + a.length)) at(`regions.${k}`)("not inside one of freeAreas");
    (regions as Record<string, Region>)[k] = reg;
    list.push([k, reg]);
  }
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      const [a, ra] = list[i];
      const [b, rb] = list[j];
      if (ra.addr < rb.addr + rb.size && rb.addr < ra.addr + ra.size) at(`regions.${b}`)(`overlaps regions.${a}`);
    }
  }

  const roles = arr(r.roles, at("roles")).map((x, i) => {
    if (!ROLES.includes(x as Role)) at(`roles[${i}]`)(`unknown role ${JSON.stringify(x)} (known: ${ROLES.join(", ")})`);
    return x as Role;
  });
  const rolesWhy = str(r.rolesWhy, at("rolesWhy"));
  const maxImageSize = int(r.maxImageSize, 1024, at("maxImageSize"));
  const repairRows = int(r.repairRows, 0, at("repairRows"));
  if (repairRows > 255) at("repairRows")(`at most 255, got ${repairRows}`);
  const decode = r.decode === undefined ? "rows" : r.decode;
  if (decode !== "rows" && decode !== "streamed") at("decode")(`expected "rows" or "streamed", got ${JSON.stringify(decode)}`);
  const packChunk = r.packChunk === undefined ? 2048 : int(r.packChunk, 1024, at("packChunk"));
  if (packChunk > 4096 || packChunk % 256) at("packChunk")(`a multiple of 256 from 1024 to 4096, got ${packChunk}`);
  if (typeof r.watchdog !== "boolean") at("watchdog")("expected true or false");
  for (const role of roles) {
    for (const need of roleRegions(role)) {
      if (!(regions as Record<string, Region>)[need]) at(`regions.${need}`)(`missing: the ${role} role needs it`);
    }
    if (role === "meter") {
      // the app holds the largest program; the buffer holds what travels: the plain image, or
      // on a board whose profile declares packChunk (its boot routine unpacks) at least
      // PACKED_SHARE of it, since a packed program is under 0.72 of its plain size (issue 17;
      // the image tool refuses an image whose blocks its buffer cannot hold)
      for (const k of ["app", "buffer"] as const) {
        const room = regions[k]!.size - APP_HEADER_SIZE, need = k === "buffer" && r.packChunk !== undefined ? Math.ceil(maxImageSize * PACKED_SHARE) : maxImageSize;
        if (room < need) at(`regions.${k}`)(`${room} bytes of room after the ${APP_HEADER_SIZE}-byte header, too small for ${need === maxImageSize ? "" : "three quarters of "}maxImageSize ${maxImageSize}`);
      }
      if (regions.boot!.size <= CONFIG_SIZE) at("regions.boot")(`must be larger than the ${CONFIG_SIZE}-byte configuration record`);
    }
    if (role === "concentrator" && unitsSpanned(flash, regions.store!) < 2) at("regions.store")("needs at least two erase units (one is erased while the other holds data)");
  }

  const m = obj(r.modem, at("modem"));
  const kind = str(m.kind, at("modem.kind")) as ModemKind;
  if (!MODEM_KINDS.includes(kind)) at("modem.kind")(`unknown modem kind (known: ${MODEM_KINDS.join(", ")})`);
  const uart = str(m.uart, at("modem.uart"));
  if (!SERIAL_PORTS.includes(uart)) at("modem.uart")(`expected one of ${SERIAL_PORTS.join(", ")}`);
  const baud = int(m.baud, 300, at("modem.baud"));
  const modem: BoardProfile["modem"] = { kind, uart, baud, pins: {} };
  if (m.tx !== undefined) modem.tx = str(m.tx, at("modem.tx"), PIN);
  if (m.rx !== undefined) modem.rx = str(m.rx, at("modem.rx"), PIN);
  if (m.lineBitRate !== undefined) modem.lineBitRate = int(m.lineBitRate, 50, at("modem.lineBitRate"));
  if (kind === "transparent" && !modem.lineBitRate) at("modem.lineBitRate")("a transparent modem needs its bit rate on the mains");
  if (m.path !== undefined) modem.path = str(m.path, at("modem.path"), /^\//);
  if (board === "LINUX" && !modem.path) at("modem.path")("the Linux build opens serial ports by device path: give one");
  if (board !== "LINUX" && (!modem.tx || !modem.rx)) at("modem.tx")("a board's modem UART needs tx and rx pins");
  const pins = obj(m.pins, at("modem.pins"));
  for (const k of Object.keys(pins)) {
    if (k !== "treq" && k !== "resetn") at(`modem.pins.${k}`)("unknown modem pin (known: treq, resetn)");
    modem.pins[k as "treq" | "resetn"] = str(pins[k], at(`modem.pins.${k}`), PIN);
  }
  const optPin = (v: Json, field: string): string | null => (v === null ? null : str(v, at(field), PIN));
  const pulsePin = optPin(r.pulsePin, "pulsePin");
  // optional: absent is none
  const tamperPin = r.tamperPin === undefined || r.tamperPin === null ? null : board === "LINUX" ? str(r.tamperPin, at("tamperPin"), /^console$/) : optPin(r.tamperPin, "tamperPin");
  const led = optPin(r.led, "led");
  const crypto = arr(r.crypto, at("crypto")).map((c, i) => {
    if (!CRYPTO.includes(c as string)) at(`crypto[${i}]`)(`unknown (known: ${CRYPTO.join(", ")})`);
    return c as string;
  });
  // a keyed meter keeps its root key in a record log of its own, which key rotation writes
  if (roles.includes("meter") && crypto.includes("SHA256") && !regions.keys) at("regions.keys")("missing: a meter board with SHA-256 keeps its keys there (key rotation)");
  if (regions.keys && unitsSpanned(flash, regions.keys) < 2) at("regions.keys")("needs at least two erase units (a record log: one is erased while the other holds the key)");
  return { board, code, name, chip, variables, memoryMapped: r.memoryMapped as boolean, flash, freeAreas, regions, roles, rolesWhy, maxImageSize, repairRows, decode: decode as BoardProfile["decode"], packChunk, watchdog: r.watchdog as boolean, modem, pulsePin, tamperPin, led, crypto };
}

/** Blocks of `blockSize` the board's buffer region holds, laid out as the meter lays them (firmware/common/update-image.ts). */
export function bufferCapacity(p: BoardProfile, blockSize: number): number {
  const b = p.regions.buffer;
  if (!b) throw new Error(`${p.board} has no buffer region`);
  let unit = p.flash.eraseUnits[0].size;
  for (const r of p.flash.eraseUnits) if (b.addr >= r.addr && b.addr < r.addr + r.size * r.count) unit = r.size;
  return bufferLayout(b.addr, b.size, unit, blockSize).capacity;
}

export function profileNames(dir = PROFILE_DIR): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort();
}

export function loadProfile(board: string, dir = PROFILE_DIR): BoardProfile {
  if (!profileNames(dir).includes(board)) {
    throw new ProfileError(board, "board", `no such profile (known: ${profileNames(dir).join(", ")})`);
  }
  let raw: Json;
  try {
    raw = JSON.parse(readFileSync(join(dir, `${board}.json`), "utf8"));
  } catch (e) {
    throw new ProfileError(board, "(file)", `not valid JSON: ${(e as Error).message}`);
  }
  return validateProfile(raw, board);
}

export function loadAllProfiles(dir = PROFILE_DIR): BoardProfile[] {
  const all = profileNames(dir).map((b) => loadProfile(b, dir));
  for (const p of all) {
    const twin = all.find((q) => q !== p && q.code === p.code);
    if (twin) throw new ProfileError(p.board, "code", `${p.code} is also ${twin.board}'s code: codes must be unique`);
  }
  return all;
}

/**
 * The JavaScript module a bundle imports as "board-profile": the profile's data with pins
 * and the serial port as Espruino identifiers (globals on the device).
 */
export function deviceProfileModule(p: BoardProfile, role: Role | "boot"): string {
  const id = (v: string | null | undefined) => (v ? v : "null");
  const hex = (n: number) => "0x" + n.toString(16);
  // the boot routine needs only its own regions: every byte of it lives in the boot region
  const bootRegions = ["boot", "state", "app", "buffer", "journal", "prev"];
  const regs = Object.entries(p.regions).filter(([k]) => role !== "boot" || bootRegions.includes(k)).map(([k, r]) => `${k}:{addr:${hex(r.addr)},size:${r.size}}`).join(",");
  const runs = p.flash.eraseUnits.map((u) => `{addr:${hex(u.addr)},size:${u.size},count:${u.count}}`).join(",");
  const uartOptions = p.board === "LINUX"
    ? `{path:${JSON.stringify(p.modem.path)}}`
    : `{tx:${id(p.modem.tx)},rx:${id(p.modem.rx)}}`;
  return [
    `export default {`,
    `board:${JSON.stringify(p.board)},code:${p.code},role:${JSON.stringify(role)},variables:${p.variables},memoryMapped:${p.memoryMapped},`,
    `geometry:{base:${hex(p.flash.base)},size:${p.flash.size},writeAlign:${p.flash.writeAlign},eraseUnits:[${runs}]},`,
    `regions:{${regs}},maxImageSize:${p.maxImageSize},repairRows:${p.repairRows},watchdog:${p.watchdog},`,
    `modemKind:${JSON.stringify(p.modem.kind)},lineBitRate:${p.modem.lineBitRate ?? 0},uart:${p.modem.uart},uartOptions:${uartOptions},baud:${p.modem.baud},`,
    `treq:${id(p.modem.pins.treq)},resetn:${id(p.modem.pins.resetn)},pulsePin:${id(p.pulsePin)},tamperPin:${p.tamperPin === "console" ? JSON.stringify("console") : id(p.tamperPin)},led:${id(p.led)},`,
    `sha256:${p.crypto.includes("SHA256")},streamedDecode:${p.decode === "streamed"}`,
    `};`,
  ].join("\n");
}

/**
 * Profile `base` with the meter feature set of `source` (its crypto, repair rows, decode,
 * no tamper switch and no keys region where it has none): the LINUX meter built as another
 * board's program, for bench:memory (rollup.config.js FEATURES_OF).
 */
export function withFeaturesOf(base: BoardProfile, source: BoardProfile): BoardProfile {
  const regions = { ...base.regions };
  if (!source.regions.keys) delete regions.keys;
  return { ...base, regions, crypto: source.crypto, repairRows: source.repairRows, decode: source.decode, tamperPin: source.tamperPin === null ? null : base.tamperPin };
}

/** The decoder a meter of this board runs (its entry picks the same, from `decode`). */
export function meterDecoder(p: BoardProfile): DecoderOf {
  return p.decode === "streamed" ? decoder : rowsDecoder;
}
