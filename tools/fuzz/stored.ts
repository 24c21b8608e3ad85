/*
 * Fuzz targets for what is read back from flash and Storage: the image file header, the
 * configuration record, the app header, the session record, the record log over a whole
 * flash region, the concentrator's checkpoints, its key file, its meter registry file and
 * its readings store. Valid inputs come from the formats' own encoders (or the code that
 * writes them, power cuts included); mutations move bytes, length fields and checks (a
 * "re-checked" mutation recomputes a CRC after it, so the checks behind the CRC are
 * reached); some are random.
 */
import fc from "fast-check";
import { Err } from "../../firmware/common/errors";
import { getU32, putU32 } from "../../firmware/common/bytes";
import { decodeImageFile, encodeImageFile, IMAGE_FILE_HEADER, IMAGE_FILE_MAGIC, type ImageFileHeader } from "../../firmware/common/image-file";
import { CONFIG_HEADER, CONFIG_MAGIC, decodeConfig, encodeConfig, type DeviceConfig } from "../../firmware/common/config";
import { APP_MAGIC, decodeAppHeader, encodeAppHeader } from "../../firmware/common/image";
import { APP_HEADER_SIZE, type FlashGeometry } from "../../firmware/common/layout";
import { decodeSession, encodeSession, SESSION_SIZE, type Session } from "../../firmware/common/update-image";
import { MAX_TYPES, RECORD_MAGIC0, RECORD_MAGIC1, RECORD_OVERHEAD, recordLog } from "../../firmware/common/records";
import { checkpoints } from "../../firmware/concentrator/checkpoint";
import { checkpointInfo, checkpointSize, readCheckpoint, writeCheckpoint } from "../../firmware/concentrator/campaign";
import { keyFile, KEY_RECORD } from "../../firmware/concentrator/keystore";
import { METER_FILES, meterFile, type MeterFile } from "../../firmware/concentrator/meter-file";
import { registry, type Registry } from "../../firmware/concentrator/registry";
import { readingStore, STORE_PREFIX, type ReadingStore } from "../../firmware/concentrator/store";
import { CUT_MODES, MockFlash, PowerCut } from "../../hal/mock/flash";
import { MockStorage } from "../../hal/mock/storage";
import { hostNative, latin1 } from "../../hal/host/native";
import { errName } from "../errors/table";
import { u32 } from "./catalogue";
import { Id } from "../../firmware/protocol/catalogue";
import { hex, mutate, mutations, seeded, type Mutation } from "./mutate";
import { refuse, type Target } from "./runner";

const crc32 = hostNative.crc32;
/**
 * Record-log and checkpoint sequence numbers at or above this are left out of the
 * write-then-read properties: the next one would wrap to 0 and lose to the old one. No log
 * or region gets there by writing (4e9 appends or saves); only a forged slot or header does.
 */
export const SEQ_TOP = 0xfffffff0;
const u16 = fc.integer({ min: 0, max: 0xffff });
const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);
const get16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);

/** A byte input: valid, or mutated and maybe re-checked (its CRC computed again after the mutation). */
interface Bytes { bytes: Uint8Array; valid: boolean }

/** Valid inputs, mutated ones (half of them re-checked by `recheck`), random bytes. */
function byteInputs(valid: fc.Arbitrary<Uint8Array>, fields: number[], maxRandom: number, recheck?: (b: Uint8Array) => void): fc.Arbitrary<Bytes> {
  return fc.oneof(
    { weight: 2, arbitrary: valid.map((b) => ({ bytes: b, valid: true })) },
    {
      weight: 6, arbitrary: fc.tuple(valid, mutations(3), fc.boolean()).map(([b, ms, re]) => {
        const m = mutate(b, ms, fields);
        if (re && recheck) recheck(m);
        return { bytes: m, valid: false };
      }),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: maxRandom, size: "max" }).map((b) => ({ bytes: b, valid: false })) },
  );
}

// ---------------------------------------------------------------------------------------
// Image file header

const imageHeader: fc.Arbitrary<ImageFileHeader> = fc.record({
  board: u16, firmwareId: u16, version: u32, digest: digestArb,
  blockSize: fc.oneof(fc.integer({ min: 1, max: 512 }), fc.integer({ min: 1, max: 0xffff })),
  blockCount: fc.oneof(fc.integer({ min: 0, max: 64 }), u16),
  sizeSeed: fc.nat(),
}).map((h) => ({ ...h, size: h.blockCount === 0 ? 0 : (h.blockCount - 1) * h.blockSize + 1 + (h.sizeSeed % h.blockSize) }));

const imageFile = fc.tuple(imageHeader, fc.uint8Array({ maxLength: 24 })).map(([h, payload]) => {
  const b = new Uint8Array(IMAGE_FILE_HEADER + payload.length);
  b.set(encodeImageFile(h, hostNative));
  b.set(payload, IMAGE_FILE_HEADER);
  return b;
});

/** The header as docs and the comment in image-file.ts lay it out, read independently of the decoder. */
function expectedImageFile(b: Uint8Array): ImageFileHeader | number {
  if (b.length < 60 || getU32(b, 0) !== IMAGE_FILE_MAGIC) return Err.BAD_ARG;
  if (crc32(b.subarray(0, 56)) !== getU32(b, 56)) return Err.UPDATE_DIGEST;
  if (get16(b, 4) !== 1 || get16(b, 22) !== 0) return Err.BAD_ARG;
  const h = { board: get16(b, 6), firmwareId: get16(b, 8), blockSize: get16(b, 10), version: getU32(b, 12), size: getU32(b, 16), blockCount: get16(b, 20), digest: b.slice(24, 56) };
  return h.blockSize > 0 && h.blockCount === Math.ceil(h.size / h.blockSize) ? h : Err.BAD_ARG;
}

const showHeader = (h: ImageFileHeader | number) => (typeof h === "number" ? errName(h) : JSON.stringify({ ...h, digest: hex(h.digest) }));

export const imageFileTarget: Target<Bytes> = {
  name: "image-file",
  about: "decodeImageFile: the update image file's 60-byte header (firmware/common/image-file.ts)",
  unit: "headers",
  failure: "a throw; a verdict or fields other than the layout's (magic, CRC-32, format 1 with its reserved bytes 22-23 zero, block size and count that add up to the size); a valid header refused; a header that does not re-encode to the same 60 bytes; a digest that is a view of the input",
  decoders: [{ file: "firmware/common/image-file.ts", functions: ["decodeImageFile", "isImageFile"] }],
  arb: byteInputs(imageFile, [4, 10, 11, 16, 19, 20, 21, 22], 80, (b) => { if (b.length >= 60) putU32(b, 56, crc32(b.subarray(0, 56))); }),
  show: (x) => hex(x.bytes),
  run(x, t) {
    const b = x.bytes;
    const h = decodeImageFile(b, hostNative);
    const want = expectedImageFile(b);
    if (showHeader(h) !== showHeader(want)) return `decoded as ${showHeader(h)}, the layout says ${showHeader(want)}`;
    if (typeof h === "number") {
      if (x.valid) return `a valid header refused: ${errName(h)}`;
      refuse(t, errName(h));
      return null;
    }
    const again = encodeImageFile(h, hostNative);
    if (!same(again, b.subarray(0, 60))) return `re-encodes to ${hex(again)}`;
    if (h.digest.buffer === b.buffer) return "the digest is a view of the input";
    t.decoded++;
    return null;
  },
};

// ---------------------------------------------------------------------------------------
// Configuration record

const text = fc.string({ maxLength: 24 });
const configArb: fc.Arbitrary<DeviceConfig> = fc.record({
  id: fc.integer({ min: 1, max: 0xfffffffe }),
  modemPath: text,
  groups: fc.array(u32, { maxLength: 6 }),
  key: fc.uint8Array({ minLength: 16, maxLength: 16 }).map(hex),
  kind: fc.integer({ min: 1, max: 3 }),
  meters: fc.array(fc.integer({ min: 1, max: 0xfffffffe }), { maxLength: 12 }),
  readingMinutes: fc.integer({ min: 1, max: 1440 }),
  profileHours: fc.integer({ min: 1, max: 168 }),
}, { requiredKeys: ["id"] });

/** A record around any body text, as encodeConfig lays it out. */
function configRecord(body: string): Uint8Array {
  const b = new Uint8Array(CONFIG_HEADER + body.length);
  for (let i = 0; i < body.length; i++) b[CONFIG_HEADER + i] = body.charCodeAt(i) & 0xff;
  putU32(b, 0, CONFIG_MAGIC);
  putU32(b, 4, body.length | (1 << 16));
  putU32(b, 8, crc32(b.subarray(CONFIG_HEADER)));
  return b;
}

/** Bodies that pass the CRC but not the checks behind it: other JSON, ids out of range, broken text. */
const oddBody = fc.oneof(
  fc.json({ maxDepth: 2 }),
  fc.constantFrom(0, -1, 1.5, 0xffffffff, 0xfffffffe, "7", null, true, [], {}, 1e300).map((id) => JSON.stringify({ id })),
  fc.tuple(configArb, fc.nat()).map(([c, k]) => { const s = JSON.stringify(c); return s.slice(0, k % (s.length + 1)); }),
  fc.constantFrom("", "null", "[1]", "\"x\"", "{\"id\":1", "{\"id\":1}x", "{\"id\":2,\"id\":3}"),
);

interface ConfigInput extends Bytes { config?: DeviceConfig }

const configInput: fc.Arbitrary<ConfigInput> = fc.oneof(
  // as flash.sh writes it, and in the meter's 256-byte area padded with 0xFF
  { weight: 2, arbitrary: fc.tuple(configArb, fc.boolean()).map(([c, pad]) => {
    const r = encodeConfig(c, hostNative);
    const b = pad && r.length < 256 ? new Uint8Array(256).fill(0xff) : r;
    b.set(r);
    return { bytes: b, valid: true, config: c };
  }) },
  { weight: 5, arbitrary: byteInputs(configArb.map((c) => encodeConfig(c, hostNative)), [4, 5, 6, 7], 64, (b) => {
    const len = get16(b, 4);
    if (b.length >= CONFIG_HEADER && len <= b.length - CONFIG_HEADER) putU32(b, 8, crc32(b.subarray(CONFIG_HEADER, CONFIG_HEADER + len)));
  }).map((x) => ({ ...x, valid: false })) },
  { weight: 2, arbitrary: oddBody.map((s) => ({ bytes: configRecord(s), valid: false })) },
);

/** The record's verdict from its layout (config.ts header comment), independently of the decoder. */
function expectedConfig(b: Uint8Array): DeviceConfig | number {
  if (b.length < CONFIG_HEADER || getU32(b, 0) !== CONFIG_MAGIC) return Err.CONFIG_MISSING;
  const len = get16(b, 4);
  if (len === 0 || len > b.length - CONFIG_HEADER || get16(b, 6) !== 1) return Err.CONFIG_CORRUPT;
  const body = b.subarray(CONFIG_HEADER, CONFIG_HEADER + len);
  if (crc32(body) !== getU32(b, 8)) return Err.CONFIG_CORRUPT;
  let c: any;
  try { c = JSON.parse(latin1(body)); } catch { return Err.CONFIG_CORRUPT; }
  return c && typeof c === "object" && Number.isInteger(c.id) && c.id >= 1 && c.id <= 0xfffffffe ? c : Err.CONFIG_CORRUPT;
}

export const configTarget: Target<ConfigInput> = {
  name: "config",
  about: "decodeConfig: the configuration record, alone (Storage) and in the meter's padded area (firmware/common/config.ts)",
  unit: "records",
  failure: "a throw; a verdict other than the layout's (magic, length, format, CRC-32, JSON, an object whose id is a whole number 1 to 0xFFFFFFFE); a valid record refused or read back different from what was written",
  decoders: [{ file: "firmware/common/config.ts", functions: ["decodeConfig"] }],
  arb: configInput,
  show: (x) => hex(x.bytes),
  run(x, t) {
    const c = decodeConfig(x.bytes, hostNative);
    const want = expectedConfig(x.bytes);
    const show = (v: unknown) => (typeof v === "number" ? errName(v) : JSON.stringify(v));
    if (show(c) !== show(want)) return `decoded as ${show(c)}, the layout says ${show(want)}`;
    if (typeof c === "number") {
      if (x.valid) return `a valid record refused: ${errName(c)}`;
      refuse(t, errName(c));
      return null;
    }
    if (x.config && JSON.stringify(c) !== JSON.stringify(x.config)) return `read back as ${JSON.stringify(c)}, written ${JSON.stringify(x.config)}`;
    t.decoded++;
    return null;
  },
};

// ---------------------------------------------------------------------------------------
// App header

interface AppInput extends Bytes { room: number }

const roomArb = fc.oneof(fc.integer({ min: APP_HEADER_SIZE, max: 4096 }), fc.integer({ min: APP_HEADER_SIZE, max: 0x400000 }));
const appValid = fc.tuple(roomArb, fc.nat(), u32, u32, fc.uint8Array({ maxLength: 16 })).filter(([room]) => room > APP_HEADER_SIZE).map(([room, l, crc, version, tail]) => {
  const h = encodeAppHeader({ length: 1 + (l % (room - APP_HEADER_SIZE)), crc, version });
  const b = new Uint8Array(APP_HEADER_SIZE + tail.length);
  b.set(h); b.set(tail, APP_HEADER_SIZE);
  return { bytes: b, room, valid: true };
});

const appInput: fc.Arbitrary<AppInput> = fc.oneof(
  { weight: 2, arbitrary: appValid },
  { weight: 6, arbitrary: fc.tuple(appValid, mutations(3), fc.integer({ min: 0, max: 5 }), fc.nat()).map(([a, ms, r, v]) => ({
    bytes: mutate(a.bytes, ms, [4, 5, 6, 7]), valid: false,
    // the room moved too: to the length exactly, one short of it, anything
    room: [a.room, a.room, getU32(a.bytes, 4) + APP_HEADER_SIZE, getU32(a.bytes, 4) + APP_HEADER_SIZE - 1, v % 0x400000, 0][r],
  })) },
  { weight: 1, arbitrary: fc.tuple(fc.uint8Array({ maxLength: 24 }), roomArb).map(([b, room]) => ({ bytes: b, room, valid: false })) },
);

export const appHeaderTarget: Target<AppInput> = {
  name: "app-header",
  about: "decodeAppHeader: the program header in the app region and the buffer, against the room it must fit (firmware/common/image.ts)",
  unit: "headers",
  failure: "a throw; a verdict other than the layout's (magic, a length from 1 to the room less the header); a valid header refused; a header that does not re-encode to the same 16 bytes",
  decoders: [{ file: "firmware/common/image.ts", functions: ["decodeAppHeader"] }],
  arb: appInput,
  show: (x) => `${hex(x.bytes)} room ${x.room}`,
  run(x, t) {
    const b = x.bytes;
    const h = decodeAppHeader(b, x.room);
    const ok = b.length >= 16 && getU32(b, 0) === APP_MAGIC && getU32(b, 4) >= 1 && getU32(b, 4) <= x.room - 16;
    if ((h !== null) !== ok) return `${h ? "decoded" : "refused"}, the layout says ${ok ? "a header" : "none"}`;
    if (!h) {
      if (x.valid) return "a valid header refused";
      refuse(t, getU32(b, 0) === APP_MAGIC && b.length >= 16 ? "null (length)" : "null (no header)");
      return null;
    }
    if (!same(encodeAppHeader(h), b.subarray(0, 16))) return `re-encodes to ${hex(encodeAppHeader(h))}`;
    t.decoded++;
    return null;
  },
};

// ---------------------------------------------------------------------------------------
// Session record

const sessionArb: fc.Arbitrary<Session> = fc.record({
  imageId: u16, version: u32, board: u16, size: u32, blockSize: u16, blockCount: u16, activateAt: u32, digest: digestArb,
});

interface SessionInput { bytes: Uint8Array | null; valid: boolean }

export const sessionTarget: Target<SessionInput> = {
  name: "session",
  about: "decodeSession: the update session record of the state log (firmware/common/update-image.ts)",
  unit: "records",
  failure: "a throw; a record of 52 bytes refused or one of another length (or none) taken; a record that does not re-encode to the same bytes; a digest that is a view of the input",
  decoders: [{ file: "firmware/common/update-image.ts", functions: ["decodeSession"] }],
  arb: fc.oneof(
    { weight: 8, arbitrary: byteInputs(sessionArb.map(encodeSession), [], 64) },
    { weight: 1, arbitrary: fc.constant({ bytes: null, valid: false }) },
  ),
  show: (x) => (x.bytes ? hex(x.bytes) : "null"),
  run(x, t) {
    const s = decodeSession(x.bytes);
    const ok = !!x.bytes && x.bytes.length === SESSION_SIZE;
    if ((s !== null) !== ok) return `${s ? "decoded" : "refused"} a record of ${x.bytes ? x.bytes.length : "no"} bytes`;
    if (!s) { refuse(t, "null (length)"); return null; }
    if (!same(encodeSession(s), x.bytes!)) return `re-encodes to ${hex(encodeSession(s))}`;
    if (s.digest.buffer === x.bytes!.buffer) return "the digest is a view of the input";
    t.decoded++;
    return null;
  },
};

// ---------------------------------------------------------------------------------------
// Flash: a small NOR flash, the region between a unit before and a unit after it

interface FlashSetup { g: FlashGeometry; region: { addr: number; size: number }; unit: number }

function flashSetup(unit: number, units: number): FlashSetup {
  return { g: { base: 0, size: (units + 2) * unit, writeAlign: 4, eraseUnits: [{ addr: 0, size: unit, count: units + 2 }] }, region: { addr: unit, size: units * unit }, unit };
}

/** A power cut at a flash operation, in any of the mock flash's modes (CUT_MODES: torn and noisy writes, half and noisy erases...). */
const cutArb = fc.option(fc.record({ op: fc.nat(80), mode: fc.nat(CUT_MODES.length - 1), fraction: fc.integer({ min: 0, max: 16 }), seed: fc.nat() }), { nil: null, freq: 3 });
type Cut = { op: number; mode: number; fraction: number; seed: number } | null;

function planCut(f: MockFlash, c: Cut): void {
  if (c) f.planCut({ op: c.op, mode: CUT_MODES[c.mode], fraction: c.fraction / 16, seed: c.seed });
}

/** Flash-level changes: [op, at, value, extra]; `forge` writes a whole slot or header that passes its CRC. */
type FlashEdit = [op: number, at: number, v: number, w: number];
const flashEdits = fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.nat(), fc.nat(), fc.nat()), { maxLength: 4 });

/**
 * Applies the generic flash edits to `b` inside [lo, hi): 0 a bit flipped, 1 a byte set,
 * 2 a whole unit erased, 3 the tail of a `slot` erased (a write torn before it), 4 a slot
 * copied over another, 5 a word cleared (a write that got that far); 6 and 7 are the
 * caller's (`forge`).
 */
function editFlash(b: Uint8Array, lo: number, hi: number, unit: number, slot: number, edits: FlashEdit[], forge: (at: number, v: number, w: number) => void): void {
  const n = hi - lo, slots = Math.floor(n / slot);
  for (const [op, at, v, w] of edits) {
    const s = lo + (at % slots) * slot;
    switch (op) {
      case 0: b[lo + (at % n)] ^= 1 << (v & 7); break;
      case 1: b[lo + (at % n)] = v & 0xff; break;
      case 2: { const u = lo + (at % Math.floor(n / unit)) * unit; b.fill(0xff, u, u + unit); break; }
      case 3: b.fill(0xff, s + (v % slot), s + slot); break;
      case 4: b.copyWithin(lo + (v % slots) * slot, s, s + slot); break;
      case 5: { const o = lo + ((at % (n >> 2)) << 2); b.fill(0, o, o + 4); break; }
      default: forge(s, v, w);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Record log

/** Slot geometries: [unit, slot]; meters use slots of 28, 32 and 64 bytes (meter.ts, update-image.ts). */
const LOG_GEOMETRIES = [[256, 16], [512, 28], [512, 32], [1024, 64], [256, 32], [128, 16]];

interface LogInput {
  geo: number; units: number; carry: boolean;
  /** Appends before the scan: [type, length, seed]. */
  history: [number, number, number][];
  cut: Cut;
  edits: FlashEdit[];
  /** The region filled with random bytes first (a foreign program's flash). */
  random: number | null;
  /** Appends after the scan: [type, length, seed, count]: `count` records of one type (enough to move the head on). */
  probe: [number, number, number, number];
}

const logInput: fc.Arbitrary<LogInput> = fc.record({
  geo: fc.nat(LOG_GEOMETRIES.length - 1), units: fc.integer({ min: 2, max: 4 }), carry: fc.boolean(),
  history: fc.array(fc.tuple(fc.nat(MAX_TYPES - 1), fc.nat(64), fc.nat()), { maxLength: 48, size: "max" }),
  cut: cutArb, edits: flashEdits, random: fc.option(fc.nat(), { nil: null, freq: 6 }),
  probe: fc.tuple(fc.oneof({ weight: 12, arbitrary: fc.nat(MAX_TYPES - 1) }, { weight: 1, arbitrary: fc.constantFrom(-1, MAX_TYPES) }), fc.nat(66), fc.nat(), fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 40 }))),
});

interface Rec { type: number; seq: number; payload: string; at: number }

/** The slots of a log region as the record format defines them (records.ts header), in the scan's order. */
function scanRecords(b: Uint8Array, lo: number, units: number, unit: number, slot: number): { valid: Rec[]; head: number } {
  const per = Math.floor(unit / slot), cap = slot - RECORD_OVERHEAD, valid: Rec[] = [];
  let best = 0, head = 0;
  for (let u = 0; u < units; u++) {
    for (let i = 0; i < per; i++) {
      const a = lo + u * unit + i * slot, s = b.subarray(a, a + slot);
      if (s.every((v) => v === 0xff)) continue;
      if (s[6] !== RECORD_MAGIC0 || s[7] !== RECORD_MAGIC1 || s[4] >= MAX_TYPES || s[5] > cap || crc32(s.subarray(0, slot - 4)) !== getU32(s, slot - 4)) continue;
      const seq = getU32(s, 0);
      valid.push({ type: s[4], seq, payload: hex(s.subarray(8, 8 + s[5])), at: u });
      if (seq > best) { best = seq; head = u; }
    }
  }
  return { valid, head };
}

/** The newest payload of each type by the format: the highest sequence number above 0, the first slot scanned on a tie. */
function latestOf(valid: Rec[]): (string | null)[] {
  const out: (string | null)[] = [], seq: number[] = [];
  for (let t = 0; t < MAX_TYPES; t++) { out.push(null); seq.push(0); }
  for (const r of valid) if (r.seq > seq[r.type]) { seq[r.type] = r.seq; out[r.type] = r.payload; }
  return out;
}

export const recordLogTarget: Target<LogInput> = {
  name: "record-log",
  about: "recordLog's scan of a flash region: logs written by it (power cuts included), edited, forged or random, then an append and a restart (firmware/common/records.ts over hal/mock/flash.ts)",
  unit: "records",
  failure: "a throw (a flash rule broken included); forEach returning other records, or in another order, than the valid slots (magic, type, length, CRC-32) from the oldest unit; read() of a type other than its newest valid record; after appends of one type, read() or a restart not giving the last, or a write outside the region; for a carrying log only cut, never edited, with units of at least MAX_TYPES + 3 slots: another type's newest value lost by those appends",
  decoders: [{ file: "firmware/common/records.ts", functions: ["recordLog"] }],
  arb: logInput,
  show: (x) => JSON.stringify(x),
  run(x, t) {
    const [unit, slot] = LOG_GEOMETRIES[x.geo];
    const { g, region } = flashSetup(unit, x.units);
    const cap = slot - RECORD_OVERHEAD, lo = region.addr, hi = lo + region.size;
    const f0 = new MockFlash(g);
    if (x.random !== null) f0.bytes.set(seeded(x.random, region.size), lo);
    else if (x.history.length) {
      const log = recordLog(f0, region, slot, x.carry, hostNative);
      planCut(f0, x.cut);
      try {
        for (const [type, len, seed] of x.history) log.append(type, seeded(seed, len % (cap + 1)));
      } catch (e) { if (!(e instanceof PowerCut)) throw e; }
      f0.reboot();
    }
    const bytes = f0.bytes.slice();
    editFlash(bytes, lo, hi, unit, slot, x.edits, (at, v, w) => {
      // a slot that passes its CRC: sequence numbers at the edges, types and lengths one past the limits
      const s = bytes.subarray(at, at + slot);
      s.fill(0xff);
      putU32(s, 0, [0, 1, 0xfffffffe, 0xffffffff, w, getU32(bytes, lo) + 1][v % 6]);
      s[4] = (w >>> 4) % (MAX_TYPES + 2);
      s[5] = (w >>> 8) % (cap + 3);
      s.set(seeded(w, s[5]).subarray(0, Math.min(s[5], cap)), 8);
      s[6] = RECORD_MAGIC0; s[7] = RECORD_MAGIC1;
      putU32(s, slot - 4, crc32(s.subarray(0, slot - 4)));
    });
    const edited = x.edits.length > 0 || x.random !== null;
    const f = new MockFlash(g, bytes);
    const log = recordLog(f, region, slot, x.carry, hostNative);
    const want = scanRecords(bytes, lo, x.units, unit, slot);
    const order: Rec[] = [];
    for (let n = 1; n <= x.units; n++) for (const r of want.valid) if (r.at === (want.head + n) % x.units) order.push(r);
    const got: string[] = [];
    log.forEach((type, seq, p) => got.push(`${type}/${seq}/${hex(p)}`));
    const wanted = order.map((r) => `${r.type}/${r.seq}/${r.payload}`);
    if (got.join(" ") !== wanted.join(" ")) return `forEach gave [${got.join(" ")}], the valid slots are [${wanted.join(" ")}]`;
    const latest = latestOf(want.valid);
    const before: (string | null)[] = [];
    for (let ty = 0; ty < MAX_TYPES; ty++) {
      const r = log.read(ty);
      before.push(r ? hex(r) : null);
      if (before[ty] !== latest[ty]) return `read(${ty}) gave ${before[ty]}, the newest valid record holds ${latest[ty]}`;
    }
    t.decoded += got.length;
    refuse(t, "torn or foreign slot", log.stats.torn);
    // a sequence number at the top (only a forged slot has one: 4e9 appends) leaves no newer one to give
    if (want.valid.some((r) => r.seq >= SEQ_TOP)) return null;
    // it takes records over whatever it found, keeps the last across a restart, and writes only inside its region
    const [pt, plen, pseed, count] = x.probe;
    if (pt < 0 || pt >= MAX_TYPES || plen === 66) {
      // a type outside the index or a payload longer than a slot (length 66 asks for one): refused, nothing written
      const badType = pt < 0 || pt >= MAX_TYPES, len = badType ? plen % (cap + 1) : cap + 1;
      const want = badType ? Err.BAD_ARG : Err.RECORD_TOO_LONG, ops = f.ops;
      const e = log.append(pt, seeded(pseed, len));
      if (e !== want || f.ops !== ops) return `append(${pt}, ${len} bytes) gave ${errName(e)} after ${f.ops - ops} flash operations, not ${errName(want)} after none`;
      refuse(t, `append ${errName(e)}`);
      return null;
    }
    let payload: Uint8Array = new Uint8Array(0);
    for (let k = 0; k < count; k++) {
      payload = seeded(pseed + k, plen % (cap + 1));
      const e = log.append(pt, payload);
      if (e) return `append refused: ${errName(e)}`;
    }
    if (hex(log.read(pt) ?? new Uint8Array(0)) !== hex(payload) || !log.read(pt)) return `read(${pt}) after ${count} appends gave ${log.read(pt) && hex(log.read(pt)!)}, not ${hex(payload)}`;
    for (let k = 0; k < f.bytes.length; k++) if ((k < lo || k >= hi) && f.bytes[k] !== bytes[k]) return `a write outside the region at ${k}`;
    const again = recordLog(f, region, slot, x.carry, hostNative);
    const r = again.read(pt);
    if (!r || hex(r) !== hex(payload)) return `after a restart read(${pt}) gave ${r && hex(r)}, appended ${hex(payload)}`;
    // a carrying log keeps every type through cuts when its units hold MAX_TYPES + 3 slots (records.ts)
    if (x.carry && !edited && Math.floor(unit / slot) >= MAX_TYPES + 3) {
      for (let ty = 0; ty < MAX_TYPES; ty++) {
        const v = again.read(ty);
        if (ty !== pt && before[ty] !== null && (v ? hex(v) : null) !== before[ty]) return `carrying log: type ${ty}'s newest value ${before[ty]} became ${v && hex(v)} after ${count} appends of type ${pt}`;
      }
    }
    return null;
  },
};

// ---------------------------------------------------------------------------------------
// Campaign checkpoints

const CK_MAGIC = 0x50434c4d, CK_HEAD = 16;

/** A checkpoint body's fields; written by campaign.ts writeCheckpoint, its meter count cut down to fit `cap`. */
interface CkBody { session: Session; phase: number; act: number; coded: boolean; round: number; result: number; ids: number[]; seed: number }
const ckBodyArb: fc.Arbitrary<CkBody> = fc.record({ session: sessionArb, phase: fc.nat(9), act: fc.nat(127), coded: fc.boolean(), round: u16, result: u16, ids: fc.array(u32, { maxLength: 24 }), seed: fc.nat() });

function ckBytes(c: CkBody, cap: number): Uint8Array {
  let n = c.ids.length;
  while (n > 0 && checkpointSize(n) > cap) n--;
  const b = new Uint8Array(checkpointSize(n)), per = seeded(c.seed, 4 * n);
  const codes = new Uint16Array(n);
  for (let i = 0; i < n; i++) codes[i] = per[2 * n + 2 * i] | (per[2 * n + 2 * i + 1] << 8);
  writeCheckpoint(b, c.session, c.phase, c.act, c.coded, c.round, c.result, c.ids.slice(0, n), per.subarray(0, n), per.subarray(n, 2 * n), codes);
  return b;
}

interface CkInput {
  unit: number; units: number;
  saves: CkBody[]; cut: Cut; edits: FlashEdit[]; random: number | null;
  probe: CkBody;
  /** Mutations of the loaded body, read by checkpointInfo directly. */
  body: Mutation[];
  /** The probe saved as it is (0), 1 to 3 bytes short (not whole words), or one word over the capacity (4). */
  probeSize: number;
}

const ckInput: fc.Arbitrary<CkInput> = fc.record({
  unit: fc.constantFrom(256, 512, 1024), units: fc.integer({ min: 2, max: 6 }),
  saves: fc.array(ckBodyArb, { maxLength: 3 }), cut: cutArb, edits: flashEdits, random: fc.option(fc.nat(), { nil: null, freq: 8 }),
  probe: ckBodyArb, body: fc.array(fc.tuple(fc.nat(7), fc.nat(), fc.nat()), { maxLength: 3 }),
  probeSize: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) }),
});

/**
 * A checkpoint body read by its layout (campaign.ts CheckpointBody): session | phase u8 |
 * activations u8 (bit 7: coded) | round u16 | n u16 | result u16 | ids u32 x n | state u8 x n |
 * quiet u8 x n | code u16 x n; "null" when shorter than its header or its lists.
 */
function expectedCheckpoint(b: Uint8Array): string {
  const head = SESSION_SIZE + 8;
  if (b.length < head) return "null";
  const n = get16(b, SESSION_SIZE + 4);
  if (b.length < head + 8 * n) return "null";
  const ids: number[] = [], codes: number[] = [];
  for (let i = 0; i < n; i++) { ids.push(getU32(b, head + 4 * i)); codes.push(get16(b, head + 6 * n + 2 * i)); }
  return [hex(b.subarray(0, SESSION_SIZE)), b[SESSION_SIZE], b[SESSION_SIZE + 1] & 0x7f, (b[SESSION_SIZE + 1] & 0x80) !== 0, get16(b, SESSION_SIZE + 2), get16(b, SESSION_SIZE + 6),
    ids.join(), hex(b.subarray(head + 4 * n, head + 5 * n)), hex(b.subarray(head + 5 * n, head + 6 * n)), codes.join()].join(" ");
}

/** readCheckpoint's answer in the same form, after checking checkpointInfo agrees with it. */
function showCheckpoint(b: Uint8Array): string {
  const c = readCheckpoint(b), i = checkpointInfo(b);
  if (!c || !i) return c || i ? `readCheckpoint ${c ? "read" : "refused"} it, checkpointInfo ${i ? "read" : "refused"} it` : "null";
  if (hex(encodeSession(i.session)) !== hex(encodeSession(c.session)) || i.meters.join() !== c.meters.join() || i.coded !== c.coded) return "checkpointInfo disagrees with readCheckpoint";
  return [hex(encodeSession(c.session)), c.phase, c.activations, c.coded, c.round, c.result, c.meters.join(), hex(c.states), hex(c.quiet), c.codes.join()].join(" ");
}

export const checkpointTarget: Target<CkInput> = {
  name: "checkpoint",
  about: "checkpoints().load() of the store region (saves with power cuts, edited, forged or random), and readCheckpoint and checkpointInfo of what it loads and of that mutated (firmware/concentrator/checkpoint.ts, campaign.ts)",
  unit: "snapshots",
  failure: "a throw (a flash rule broken included); load() giving other than the newest half whose header (magic, length, CRC-32) verifies; readCheckpoint or checkpointInfo other than the body's layout says; after a save, load() or a restart not giving the saved body",
  decoders: [
    { file: "firmware/concentrator/checkpoint.ts", functions: ["checkpoints"] },
    { file: "firmware/concentrator/campaign.ts", functions: ["readCheckpoint", "checkpointInfo"] },
  ],
  arb: ckInput,
  show: (x) => JSON.stringify(x, (_k, v) => (v instanceof Uint8Array ? hex(v) : v)),
  run(x, t) {
    const { g, region } = flashSetup(x.unit, x.units);
    const half = Math.floor(x.units / 2) * x.unit, cap = half - CK_HEAD, lo = region.addr;
    const f0 = new MockFlash(g);
    if (x.random !== null) f0.bytes.set(seeded(x.random, region.size), lo);
    else if (x.saves.length) {
      const c = checkpoints(f0, region, hostNative);
      planCut(f0, x.cut);
      try {
        for (const s of x.saves) c.save(ckBytes(s, cap));
      } catch (e) { if (!(e instanceof PowerCut)) throw e; }
      f0.reboot();
    }
    const bytes = f0.bytes.slice();
    const valid = (base: number) => {
      const len = getU32(bytes, base + 8);
      if (getU32(bytes, base) !== CK_MAGIC || len > half - CK_HEAD) return -1;
      return crc32(bytes.subarray(base + CK_HEAD, base + CK_HEAD + len)) === getU32(bytes, base + 12) ? getU32(bytes, base + 4) : -1;
    };
    editFlash(bytes, lo, lo + 2 * half, x.unit, CK_HEAD, x.edits, (_at, v, w) => {
      // a header that passes its CRC: sequence numbers at the edges, lengths at and past the limit
      const base = lo + (v & 1) * half, other = lo + (1 - (v & 1)) * half;
      const len = [getU32(bytes, base + 8), w % half, half - CK_HEAD, half - CK_HEAD + 1, 0xffffffff, 0][(v >>> 1) % 6];
      putU32(bytes, base, CK_MAGIC);
      putU32(bytes, base + 4, [0, 1, 0xfffffffe, 0xffffffff, w, valid(other) + 1][(v >>> 4) % 6]);
      putU32(bytes, base + 8, len);
      if (w & 1) bytes.set(seeded(w, Math.min(len, half - CK_HEAD)), base + CK_HEAD);
      putU32(bytes, base + 12, len <= half - CK_HEAD ? crc32(bytes.subarray(base + CK_HEAD, base + CK_HEAD + len)) : w);
    });
    const f = new MockFlash(g, bytes);
    const ck = checkpoints(f, region, hostNative);
    const a = valid(lo), b = valid(lo + half);
    const base = a < 0 && b < 0 ? -1 : a >= b ? lo : lo + half;
    const want = base < 0 ? null : bytes.slice(base + CK_HEAD, base + CK_HEAD + getU32(bytes, base + 8));
    const got = ck.load();
    if ((got ? hex(got) : "null") !== (want ? hex(want) : "null")) return `load() gave ${got ? hex(got) : "null"}, the newest valid half holds ${want ? hex(want) : "null"}`;
    if (got) {
      t.decoded++;
      const read = showCheckpoint(got);
      if (read !== expectedCheckpoint(got)) return `readCheckpoint gave ${read}, the layout says ${expectedCheckpoint(got)}`;
      if (read === "null") refuse(t, "readCheckpoint null");
      if (x.body.length) {
        const m = mutate(got, x.body, [SESSION_SIZE + 4, SESSION_SIZE + 5]);
        if (showCheckpoint(m) !== expectedCheckpoint(m)) return `readCheckpoint of ${hex(m)} gave ${showCheckpoint(m)}, the layout says ${expectedCheckpoint(m)}`;
      }
    } else refuse(t, "null (no valid snapshot)");
    // a sequence number at the top (only a forged header has one: 4e9 saves) leaves no newer one to give
    if (a >= SEQ_TOP || b >= SEQ_TOP) return null;
    if (x.probeSize) {
      // a body that is not whole words, or longer than half the region: refused, nothing written
      const odd = x.probeSize < 4, ops = f.ops;
      const whole = ckBytes(x.probe, cap);
      const e = ck.save(odd ? whole.subarray(0, whole.length - x.probeSize) : new Uint8Array(cap + 4));
      const want = odd ? Err.BAD_ARG : Err.RECORD_TOO_LONG;
      if (e !== want || f.ops !== ops) return `a save of a ${odd ? "body not of whole words" : "body over the capacity"} gave ${errName(e)} after ${f.ops - ops} flash operations, not ${errName(want)} after none`;
      refuse(t, `save ${errName(e)}`);
      return null;
    }
    // a save over whatever it found is what it loads, also after a restart
    const p = ckBytes(x.probe, cap);
    const e = ck.save(p);
    if (e) return `save of ${p.length} bytes (capacity ${ck.capacity}) refused: ${errName(e)}`;
    const back = ck.load(), again = checkpoints(f, region, hostNative).load();
    if (!back || !same(back, p)) return `after a save load() gave ${back ? hex(back) : "null"}, saved ${hex(p)}`;
    if (!again || !same(again, p)) return `after a save and a restart load() gave ${again ? hex(again) : "null"}, saved ${hex(p)}`;
    for (let k = 0; k < f.bytes.length; k++) if ((k < lo || k >= lo + region.size) && f.bytes[k] !== bytes[k]) return `a write outside the region at ${k}`;
    return null;
  },
};

// ---------------------------------------------------------------------------------------
// Key file

interface KeysInput {
  ids: number[]; keySeed: number;
  /** Mutations of the file's bytes; a record swap; the size given short of the file (negative: past its end, a file cut after the size was read). */
  muts: Mutation[]; swap: [number, number] | null; short: number;
  /** [kind, v]: 0 an id in the file, 1 any id, 2 next to one in the file, 3 an edge id. */
  queries: [number, number][];
}

const keysInput: fc.Arbitrary<KeysInput> = fc.record({
  ids: fc.uniqueArray(fc.oneof(u32, fc.integer({ min: 0, max: 64 })), { maxLength: 40 }), keySeed: fc.nat(),
  muts: fc.oneof({ weight: 1, arbitrary: fc.constant<Mutation[]>([]) }, { weight: 2, arbitrary: mutations(3) }),
  swap: fc.option(fc.tuple(fc.nat(), fc.nat()), { nil: null, freq: 5 }),
  short: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 40 }) }, { weight: 1, arbitrary: fc.integer({ min: -80, max: -1 }) }),
  queries: fc.array(fc.tuple(fc.nat(3), u32), { minLength: 1, maxLength: 8 }),
});

export const keystoreTarget: Target<KeysInput> = {
  name: "keystore",
  about: "keyFile: the concentrator's sorted key file, read in place as Storage.read does (firmware/concentrator/keystore.ts)",
  unit: "lookups",
  failure: "a throw; keys returned that are not the two 16-byte fields of a whole record in the file with that id, inside the size given; in a sorted file read whole, an id in it not found or an id not in it found; the same id asked twice answered differently",
  decoders: [{ file: "firmware/concentrator/keystore.ts", functions: ["keyFile", "findById", "bytesAt"] }],
  arb: keysInput,
  show: (x) => JSON.stringify(x),
  run(x, t) {
    const ids = [...x.ids].sort((a, b) => a - b);
    const file = new Uint8Array(ids.length * KEY_RECORD);
    ids.forEach((id, k) => { putU32(file, k * KEY_RECORD, id); file.set(seeded(x.keySeed + k, 32), k * KEY_RECORD + 4); });
    let b: Uint8Array = file;
    if (x.swap && ids.length > 1) {
      const i = x.swap[0] % ids.length, j = x.swap[1] % ids.length;
      b = file.slice();
      b.copyWithin(i * KEY_RECORD, j * KEY_RECORD, (j + 1) * KEY_RECORD);
      b.set(file.subarray(i * KEY_RECORD, (i + 1) * KEY_RECORD), j * KEY_RECORD);
    }
    if (x.muts.length) b = mutate(b, x.muts, ids.flatMap((_, k) => [k * KEY_RECORD, k * KEY_RECORD + 3]));
    const textOf = latin1(b);
    const size = Math.max(0, textOf.length - x.short);
    const whole = b === file && size === textOf.length;
    const lookup = keyFile((o, n) => (o < textOf.length ? textOf.substr(o, n) : undefined), size);
    const records = Math.floor(size / KEY_RECORD);
    for (const [kind, v] of x.queries) {
      const id = kind === 0 && ids.length ? ids[v % ids.length] : kind === 2 && ids.length ? (ids[v % ids.length] + (v & 1 ? 1 : -1)) >>> 0 : kind === 3 ? [0, 1, 0xffffffff, 0xfffffffe][v & 3] : v;
      const k = lookup(id);
      const k2 = lookup(id);
      if (k !== k2 && JSON.stringify(k) !== JSON.stringify(k2)) return `id ${id} answered differently the second time`;
      if (k) {
        if (!(k.down instanceof Uint8Array) || k.down.length !== 16 || !(k.up instanceof Uint8Array) || k.up.length !== 16) return `keys for ${id} are not two 16-byte fields`;
        let found = false;
        for (let r = 0; r < records && !found; r++) {
          const o = r * KEY_RECORD;
          if (o + KEY_RECORD > b.length) break;
          if (getU32(b, o) === id && same(k.down, b.subarray(o + 4, o + 20)) && same(k.up, b.subarray(o + 20, o + 36))) found = true;
        }
        if (!found) return `keys for ${id} that are no record's: ${hex(k.down)} ${hex(k.up)}`;
        t.decoded++;
      } else refuse(t, "null (no record)");
      if (whole && !!k !== ids.includes(id)) return `a sorted file: id ${id} ${k ? "found but not in it" : "in it but not found"}`;
    }
    return null;
  },
};

// ---------------------------------------------------------------------------------------
// Registry file (meter-file.ts over the mock Storage)

interface MeterFileInput {
  pool: number[]; capacity: number;
  /** Registry changes: [op, meter, a, b]: 0 add configured, 1 info, 2 board, 3 group, 4 add discovered, 5 its load-profile mark, 6 its event mark (both written when the readings store lets go of lines). */
  ops: [number, number, number, number][];
  /** Then this many changes of one meter's group (enough to make the file take a snapshot into the other). */
  churn: number;
  /** A power cut at this Storage operation (appends and erases from 0), or none. */
  cut: number | null;
  /** A Storage this small (appends that do not fit throw), or the default. */
  room: number | null;
  /** Edits of the files' text: [file, op, at, v]. */
  edits: [number, number, number, number][];
  /** Lines both files are made of instead (a foreign or damaged Storage). */
  lines: [number, number][] | null;
  seed: number;
}

const TRICKY = ["e", "g", "g0", "g-1", "g1e3", "gx", "g 7", "g2", "", ",,,,,,;", "1,1,1,1,1,1,1;", "1,1,1,1,1,1,1", "1,1,1,1,1,1;", "0,1,1,1,1,1,1;", "4294967295,1,1,1,1,1,1;",
  "4294967294,255,255,4294967295,65535,4294967295,4294967295;", "5,1,300,1,1,1,1;", "5,-1,1,1,1,1,1;", "5,1.5,1,1,1,1,1;", "5,1,1,1,70000,1,1;", "5,1,1,1,1,4294967296,1;",
  "5,1,1,1,1,1,4294967296;", "5,1,1,-2,1,1,1;", " 5,1,1,1,1,1,1;", "5,1,1,1,1,1,1,;", "5,,1,1,1,1,1;", "1e3,1,1,1,1,1,1;", "0x10,1,1,1,1,1,1;", "5,1,1,1,1,1,1 ;", "5,1,1,1,1,1,1;;",
  "7,2,3,4,5,6,7;", "7,2,3,4,5,6,7", "7,2,3,4,5,60,7;", "7,1,0,0,0,0,0;", "7,1,0,0,0,0,99;", "7,1,0,0,0,0,9;",
  "7,1,0,0,0,0,9,5;", "7,1,0,0,0,0,9,4294967296;", "7,1,0,0,0,0,9,5,1;", "7,1,0,0,0,0,9,;", "7,1,0,0,0,0,9,-5;"];
const CHARS = "0123456789,-.eg\nx ;";

const meterFileInput: fc.Arbitrary<MeterFileInput> = fc.record({
  pool: fc.array(fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 0xfffffffe })), { minLength: 1, maxLength: 10 }),
  capacity: fc.integer({ min: 2, max: 12 }),
  ops: fc.array(fc.tuple(fc.nat(6), fc.nat(), fc.nat(), u32), { maxLength: 40, size: "max" }),
  churn: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 60, max: 100 }) }),
  cut: fc.option(fc.oneof(fc.nat(120), fc.nat(250)), { nil: null, freq: 3 }),
  room: fc.option(fc.integer({ min: 20, max: 600 }), { nil: null, freq: 6 }),
  edits: fc.oneof({ weight: 2, arbitrary: fc.constant<[number, number, number, number][]>([]) }, { weight: 2, arbitrary: fc.array(fc.tuple(fc.nat(1), fc.nat(7), fc.nat(), fc.nat()), { minLength: 1, maxLength: 3 }) }),
  lines: fc.option(fc.array(fc.tuple(fc.nat(2), fc.nat()), { maxLength: 12 }), { nil: null, freq: 8 }),
  seed: fc.nat(),
});

/** The persisted fields of every meter, in id order. */
function view(reg: Registry): string {
  const out: string[] = [];
  for (let i = 0; i < reg.count(); i++) out.push([reg.id(i), reg.flags(i), reg.kind(i), reg.version(i), reg.board(i), reg.group(i), reg.profileAt(i), reg.eventAt(i)].join(","));
  return out.join(" ");
}

function applyOp(reg: Registry, kept: MeterFile, pool: number[], [op, k, a, b]: [number, number, number, number]): void {
  const id = pool[k % pool.length];
  if (op === 0 || op === 4) { reg.add(id, op === 0 ? 1 : 2); return; }
  const i = reg.find(id);
  if (i < 0) return;
  if (op === 1) reg.setInfo(i, a & 0xff, b);
  else if (op === 2) reg.setBoard(i, a & 0xffff);
  else if (op === 3) reg.setGroup(i, b);
  else if (op === 6) { if (b > reg.eventAt(i)) { reg.setEventAt(i, b); kept.changed(i); } }
  else if (b > reg.profileAt(i)) { reg.setProfileAt(i, b); kept.changed(i); }
}

/** The largest value of each field of a meter line (the registry takes meter ids up to Id.MAX_METER): id, flags, kind, version, board, group, load-profile mark, event mark. */
const LINE_MAX = [Id.MAX_METER, 0xff, 0xff, 0xffffffff, 0xffff, 0xffffffff, 0xffffffff, 0xffffffff];

/**
 * What a restart must load, by the file format (meter-file.ts header): the file with the
 * highest generation (its first "g" line that is not negative) among those whose snapshot
 * ended ("e"), its lines replayed. A meter line is seven or eight whole numbers (no event
 * mark: 0) that fit their fields and print back as the line, then ";"; flags add up, the
 * load-profile and event marks are the highest, the rest is the last line's.
 */
function expectedMeters(files: Map<string, string>, capacity: number): { view: string; lines: number; skipped: number } {
  const lines = METER_FILES.map((n) => { const s = files.get(n); if (s === undefined) return []; const l = s.split("\n"); if (l[l.length - 1] === "") l.pop(); return l; });
  const gens = lines.map((ls) => {
    let g = -1;
    for (const l of ls) if (g < 0 && l[0] === "g") g = +l.substr(1);
    return g;
  });
  let cur = -1;
  lines.forEach((ls, k) => { if (ls.includes("e") && gens[k] >= 0 && (cur < 0 || gens[k] > gens[cur])) cur = k; });
  const m = new Map<number, number[]>();
  let applied = 0, skipped = 0;
  for (const l of cur < 0 ? [] : lines[cur]) {
    const body = l.slice(0, -1), v = body.split(",").map(Number);
    if (!l.endsWith(";") || v.length < 7 || v.length > 8 || v.join(",") !== body || v.some((x, k) => !Number.isInteger(x) || x < 0 || x > LINE_MAX[k]) || v[0] < 1) {
      if (l !== "" && l !== "e" && l[0] !== "g") skipped++;
      continue;
    }
    const had = m.get(v[0]);
    if (!had && m.size >= capacity) continue;
    m.set(v[0], [v[0], (had ? had[1] : 0) | v[1], v[2], v[3], v[4], v[5], Math.max(had ? had[6] : 0, v[6]), Math.max(had ? had[7] : 0, v[7] ?? 0)]);
    applied++;
  }
  return { view: [...m.keys()].sort((a, b) => a - b).map((id) => m.get(id)!.join(",")).join(" "), lines: applied, skipped };
}

function editFiles(files: Map<string, string>, edits: [number, number, number, number][]): void {
  for (const [k, op, at, v] of edits) {
    const name = METER_FILES[k], s = files.get(name);
    if (op === 6) { files.delete(name); continue; }
    if (op === 7) { const o = files.get(METER_FILES[1 - k]); if (o === undefined) files.delete(name); else files.set(name, o); continue; }
    if (s === undefined) continue;
    const n = s.length, i = n ? at % n : 0, c = CHARS[v % CHARS.length];
    const ls = s.split("\n"), j = at % ls.length;
    switch (op) {
      case 0: files.set(name, s.slice(0, i) + c + s.slice(i + 1)); break;
      case 1: files.set(name, s.slice(0, i) + s.slice(i + 1)); break;
      case 2: files.set(name, s.slice(0, i) + c + s.slice(i)); break;
      case 3: files.set(name, s.slice(0, i)); break;
      case 4: ls.splice(j, 0, ls[j]); files.set(name, ls.join("\n")); break;
      default: ls.splice(j, 0, TRICKY[v % TRICKY.length]); files.set(name, ls.join("\n"));
    }
  }
}

export const meterFileTarget: Target<MeterFileInput> = {
  name: "meter-file",
  about: "meterFile's load of the registry files: written by it (power cuts and a full Storage included), edited or made of odd lines, then a change and a restart (firmware/concentrator/meter-file.ts over hal/mock/storage.ts)",
  unit: "lines",
  failure: "a throw; a registry other than the format says (the ended file of the highest generation, lines of seven or eight numbers that fit their fields printing back before a \";\", values as written); unedited files cut at any Storage operation loading other than the registry before or after the change cut; a change after the load not there after another restart",
  decoders: [{ file: "firmware/concentrator/meter-file.ts", functions: ["meterFile", "fields"] }],
  arb: meterFileInput,
  show: (x) => JSON.stringify(x),
  run(x, t) {
    const st = new MockStorage(x.room ?? 1 << 20, x.seed + 1);
    let kept: ReturnType<typeof meterFile> | undefined;
    const reg = registry(x.capacity, (i) => { if (kept) kept.changed(i); });
    kept = meterFile(st, reg);
    if (x.cut !== null) st.cutAt(x.cut);
    let allowed: string[] | null = null;
    const churn: [number, number, number, number][] = Array.from({ length: x.churn }, (_, k) => [3, x.seed, 0, k + 1]);
    for (const op of [...x.ops, ...churn]) {
      const before = view(reg);
      applyOp(reg, kept, x.pool, op);
      if (st.off) { allowed = [before, view(reg)]; break; }
    }
    const full = allowed === null ? [view(reg)] : allowed;
    st.powerOn();
    if (x.lines) {
      const text = (k: number) => x.lines!.filter(([f]) => f === k || f === 2).map(([, v]) => `\n${TRICKY[v % TRICKY.length]}`).join("");
      st.files.clear();
      METER_FILES.forEach((n, k) => st.files.set(n, text(k)));
    }
    editFiles(st.files, x.edits);
    const untouched = !x.lines && !x.edits.length && x.room === null;
    const files = new Map(st.files);
    const want = expectedMeters(files, x.capacity);
    let kept2: ReturnType<typeof meterFile> | undefined;
    const reg2 = registry(x.capacity, (i) => { if (kept2) kept2.changed(i); });
    kept2 = meterFile(st, reg2);
    const got = view(reg2);
    if (got !== want.view) return `loaded [${got}], the files say [${want.view}]`;
    if (untouched && !full.includes(got)) return `loaded [${got}], written [${full.join("] or [")}]`;
    t.decoded += want.lines;
    refuse(t, "line skipped", want.skipped);
    refuse(t, "file set aside", METER_FILES.filter((n) => files.has(n) && !st.files.has(n)).length);
    // a change after the load is there after another restart
    if (x.room === null) {
      const id = x.pool[x.seed % x.pool.length];
      const i = reg2.add(id, 2);
      if (i >= 0) {
        reg2.setGroup(i, (x.seed % 1000) + 1);
        const after = view(reg2);
        const reg3 = registry(x.capacity);
        meterFile(st, reg3);
        if (view(reg3) !== after) return `after a change and a restart loaded [${view(reg3)}], the registry was [${after}]`;
      }
    }
    return null;
  },
};

// ---------------------------------------------------------------------------------------
// Readings store (store.ts over the mock Storage)

interface StoreInput {
  /** Lines a file (store.ts segLines) and files at most (maxSegs, the configuration's storeFiles: 2 or more). */
  segLines: number; maxSegs: number;
  /** [op, kind, v]: 0 a reading appended, 1 an acknowledgement (kind: 0 the end, 1 before it, 2 a file boundary, 3 an odd position), 2 since(from, max) checked against the model, 3 a restart. */
  ops: [number, number, number][];
  /** Power cuts: [i, d], at the d-th Storage operation (appends and erases) from op i on; after each, a restart and the ops go on. */
  cuts: [number, number][];
  /** A Storage this small (appends that do not fit throw), or the default. */
  room: number | null;
  /** Then edits of the store files: [file, op, at, v]. */
  edits: [number, number, number, number][];
  /** Store files made of these lines instead (a foreign or damaged Storage): [file number, line]. */
  odd: [number, number][] | null;
  seed: number;
}

const STORE_TRICKY = ["a,0;", "a,1;", "a,7;", "a,999999;", "a,-1;", "a,1.5;", "a,x;", "a,;", "a,", ";", "", "x;", "a,1e3;", "a,0x10;", "a, 3;", "a,3;;", " a,3;", "A,3;",
  "a,Infinity;", "a,NaN;", "a,9007199254740993;", "1001,1-0:1.8.0,5,30,0,1790000005,0;", "1001,1-0:1.8.0,5", "a,3"];
const STORE_CHARS = "0123456789,;a\n-.x ";
/** Names a store file is renamed to (after the prefix): foreign files. */
const ODD_NAMES = ["", "01", "-1", "1.5", "x", " 2", "1e1", "00", "+3", "0x2"];

const storeInput: fc.Arbitrary<StoreInput> = fc.record({
  segLines: fc.integer({ min: 1, max: 6 }), maxSegs: fc.integer({ min: 2, max: 6 }),
  ops: fc.array(fc.tuple(fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: fc.constant(3) }), fc.nat(3), fc.nat()), { maxLength: 60, size: "max" }),
  cuts: fc.oneof({ weight: 1, arbitrary: fc.constant<[number, number][]>([]) }, { weight: 2, arbitrary: fc.array(fc.tuple(fc.nat(60), fc.nat(4)), { minLength: 1, maxLength: 3 }).map((c) => c.sort((a, b) => a[0] - b[0])) }),
  room: fc.option(fc.integer({ min: 30, max: 700 }), { nil: null, freq: 2 }),
  edits: fc.oneof({ weight: 2, arbitrary: fc.constant<[number, number, number, number][]>([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.nat(), fc.nat(8), fc.nat(), fc.nat()), { minLength: 1, maxLength: 3 }) }),
  odd: fc.option(fc.array(fc.tuple(fc.nat(5), fc.nat()), { maxLength: 16 }), { nil: null, freq: 8 }),
  seed: fc.nat(),
});

/** Reading k, as the collector writes them (readings.ts: meter,OBIS,value,unit,scaler,time,status), k in its time: each one different. */
const storeReading = (k: number, v: number) => `${1000 + (v % 7)},1-0:1.${k % 3 ? 8 : 29}.0,${v % 100000},30,0,${1790000000 + k},0`;

/** The store files' numbers, as the format names them (ml.r<n>, n a whole number), sorted. */
function storeNumbers(files: Map<string, string>): number[] {
  const out: number[] = [];
  for (const name of files.keys()) {
    if (!name.startsWith(STORE_PREFIX)) continue;
    const n = +name.slice(STORE_PREFIX.length);
    if (n >= 0 && n % 1 === 0 && !out.includes(n)) out.push(n);
  }
  return out.sort((a, b) => a - b);
}

/**
 * What the store must give from its files, by the format (store.ts header): files by
 * number; the i-th non-empty line of file n at position n * segLines + i, i under
 * segLines (lines after those, in a damaged file, are not the store's); a reading is a
 * line written whole (ending in ";") that is not an acknowledgement ("a,<position>"); the
 * acknowledgement is the highest that is a whole position at most its own line's (ack()
 * writes it at the end), or the oldest file's first position; the end is the position
 * after the newest file's last line.
 */
function expectedStore(files: Map<string, string>, L: number): { all: [number, string][]; acked: number; start: number; end: number; skipped: number } {
  const nums = storeNumbers(files), all: [number, string][] = [];
  let acked = nums.length ? nums[0] * L : 0, end = 0, skipped = 0;
  for (const n of nums) {
    const text = files.get(STORE_PREFIX + n);
    let p = n * L;
    for (const l of text === undefined ? [] : text.split("\n")) {
      if (l === "") continue;
      if (p === (n + 1) * L) { skipped++; continue; }
      const whole = l.length > 1 && l.endsWith(";") ? l.slice(0, -1) : null;
      if (whole !== null && whole.startsWith("a,")) {
        const v = Number(whole.slice(2));
        if (Number.isInteger(v) && v <= p && v > acked) acked = v;
        else if (!Number.isInteger(v) || v > p) skipped++;
      } else if (whole !== null) all.push([p, whole]);
      else skipped++;
      p++;
    }
    end = p;
  }
  return { all, acked, start: nums.length ? nums[0] * L : 0, end, skipped };
}

function editStore(files: Map<string, string>, edits: [number, number, number, number][]): void {
  for (const [f, op, at, v] of edits) {
    const names = [...files.keys()].filter((n) => n.startsWith(STORE_PREFIX)).sort();
    if (!names.length) return;
    const name = names[f % names.length], s = files.get(name)!, n = +name.slice(STORE_PREFIX.length);
    const len = s.length, i = len ? at % len : 0, c = STORE_CHARS[v % STORE_CHARS.length];
    const ls = s.split("\n"), j = at % ls.length;
    switch (op) {
      case 0: files.set(name, s.slice(0, i) + c + s.slice(i + 1)); break;
      case 1: files.set(name, s.slice(0, i) + s.slice(i + 1)); break;
      case 2: files.set(name, s.slice(0, i) + c + s.slice(i)); break;
      case 3: files.set(name, s.slice(0, i)); break;
      case 4: ls.splice(j, 0, ls[j]); files.set(name, ls.join("\n")); break;
      case 5: ls.splice(j, 0, STORE_TRICKY[v % STORE_TRICKY.length]); files.set(name, ls.join("\n")); break;
      case 6: files.delete(name); break;
      case 7: { const to = n + [-2, -1, 1, 2, 7][v % 5]; if (to >= 0 && to % 1 === 0) files.set(STORE_PREFIX + to, s); break; }
      default: files.delete(name); files.set(STORE_PREFIX + ODD_NAMES[v % ODD_NAMES.length], s);
    }
  }
}

/**
 * since(from, max) against every kept reading `all`: the first `max` from `from` on, in
 * order; and the position it returns to ask from next: past what it gave and not before
 * `from`, skipping no kept reading, at most the end (or `from`), the end when it gave fewer
 * than `max`.
 */
function sinceWhy(s: ReadingStore, all: [number, string][], from: number, max: number): string | null {
  const got: [number, string][] = [];
  const next = s.since(from, max, (l, p) => { got.push([p, l]); });
  const want = all.filter(([p]) => p >= from).slice(0, max);
  if (JSON.stringify(got) !== JSON.stringify(want)) return `since(${from}, ${max}) gave ${JSON.stringify(got)}, the readings kept from there are ${JSON.stringify(want)}`;
  const end = s.end(), last = got.length ? got[got.length - 1][0] : -1;
  if (!(next >= from && next > last && next <= Math.max(from, end))) return `since(${from}, ${max}) returned ${next} (end ${end}, last given ${last})`;
  const skipped = all.find(([p]) => p >= from && p < next && !got.some((g) => g[0] === p));
  if (skipped) return `since(${from}, ${max}) returned ${next}, past the reading at ${skipped[0]} it did not give`;
  if (got.length < max && next < end) return `since(${from}, ${max}) gave ${got.length} and returned ${next}, before the end ${end}`;
  return null;
}

/** Every reading the store gives, since(0) and forEach agreeing, or why not. */
function keptOf(s: ReadingStore): [number, string][] | string {
  const got: [number, string][] = [], each: string[] = [];
  s.since(0, 1e9, (l, p) => { got.push([p, l]); });
  s.forEach((l) => { each.push(l); });
  if (each.join("\n") !== got.map((g) => g[1]).join("\n")) return `forEach gave ${JSON.stringify(each)}, since(0) ${JSON.stringify(got)}`;
  for (let k = 1; k < got.length; k++) if (got[k][0] <= got[k - 1][0]) return `since(0) gave position ${got[k][0]} after ${got[k - 1][0]}`;
  return got;
}

export const storeTarget: Target<StoreInput> = {
  name: "store",
  about: "readingStore: the concentrator's readings files, written by it (appends, acknowledgements, files freed; power cuts at any Storage operation, a Storage too small), edited or made of odd lines, then since(), an append, an ack and a restart (firmware/concentrator/store.ts over hal/mock/storage.ts)",
  unit: "readings",
  failure: "a throw; readings other than the format says (files by number, the i-th line of file n at n * segLines + i, whole lines that are not acknowledgements), or not in order; since(from, max) not the first max kept from `from`, or a next position that skips one or stops short of the end; unedited files, cut at any Storage operation, then restarted: a reading whose append returned lost or moved while not acknowledged, one never appended, twice or out of order, a position given twice (end going back), an acknowledgement ack() said done lost, acked() past what was asked, a file freed that was not wholly acknowledged or without the hook seeing its readings; a refusal (append, ack STORE_FULL) with room or an acknowledged file that could go",
  decoders: [{ file: "firmware/concentrator/store.ts", functions: ["readingStore", "whole", "isAck"] }],
  arb: storeInput,
  show: (x) => JSON.stringify(x),
  run(x, t) {
    const L = x.segLines, S = x.maxSegs;
    const st = new MockStorage(x.room ?? 1 << 20, x.seed + 1);
    // the model: readings whose append returned, by position; the next position; the highest ack said done and the highest asked
    const stored = new Map<number, string>(), at = new Map<string, number>(), freed = new Set<string>();
    let end = 0, persisted = 0, asked = 0, k = 0, hookWhy: string | null = null, edited = false;
    const open = () => readingStore(st, L, S, (l) => {
      freed.add(l);
      const p = at.get(l);
      if (!edited && !hookWhy && (p === undefined || p >= asked)) hookWhy = `the hook was given ${JSON.stringify(l)}, ${p === undefined ? "never appended" : `at ${p}, not acknowledged (asked up to ${asked})`}`;
    });
    /** The store against the model; `cut`: just restarted after a power cut, `line` the reading being appended then. */
    const check = (s: ReadingStore, what: string, cut: boolean, line: string | null): string | null => {
      const got = keptOf(s);
      if (typeof got === "string") return `${what}: ${got}`;
      const start = s.start(), e = s.end(), acked = s.acked();
      if (!(e === end || (cut && e === end + 1))) return `${what}: end() ${e}, the next position is ${end}${cut ? " (or one on: a torn line keeps its position)" : ""}`;
      for (const [p, l] of got) {
        const want = stored.get(p);
        if (want === undefined && cut && l === line && p === end) { stored.set(p, l); continue; }
        if (want !== l) return `${what}: ${JSON.stringify(l)} at ${p}, ${want === undefined ? "no reading appended there" : `appended there: ${JSON.stringify(want)}`}`;
      }
      if (start > asked) return `${what}: start() ${start}, past every acknowledgement asked (${asked})`;
      const have = new Set(got.map((g) => g[0]));
      for (const [p, l] of stored) {
        if (p >= start && !have.has(p)) return `${what}: the reading at ${p} lost (${JSON.stringify(l)}), start() ${start}`;
        if (p < start && !freed.has(l)) return `${what}: the reading at ${p} let go without the hook seeing it`;
      }
      if (acked < persisted) return `${what}: acked() ${acked}, ack(${persisted}) said done`;
      if (acked > asked || acked < start || acked > e) return `${what}: acked() ${acked}, asked up to ${asked}, start ${start}, end ${e}`;
      const files = storeNumbers(st.files).length;
      if (files > S) return `${what}: ${files} files, at most ${S}`;
      end = e;
      t.decoded += got.length;
      return hookWhy;
    };
    /** A refusal of `text` is right when Storage cannot take it, or the store holds maxSegs files and the oldest is not wholly acknowledged; and never while an acknowledged file other than the newest could go. */
    const refusalWhy = (s: ReadingStore, what: string, text: string): string | null => {
      const name = STORE_PREFIX + Math.floor(end / L), nums = storeNumbers(st.files);
      const noRoom = st.used() + text.length + (st.files.has(name) ? 0 : name.length) > st.capacity;
      const full = end % L === 0 && (end - s.start()) / L >= S && s.start() + L > persisted;
      if (!noRoom && !full) return `${what} refused with room (Storage ${st.used()} of ${st.capacity} bytes, ${nums.length} files of ${S}, acknowledged ${persisted})`;
      if (nums.length >= 2 && (nums[0] + 1) * L <= persisted) return `${what} refused while file ${nums[0]} is wholly acknowledged (${persisted})`;
      return null;
    };

    let s = open();
    let cutNo = 0;
    for (let i = 0; i < x.ops.length; i++) {
      const [op, kind, v] = x.ops[i];
      // the next cut, planned from this op on (once the power is back from the one before)
      if (cutNo < x.cuts.length && x.cuts[cutNo][0] <= i) st.cutAt(st.count + x.cuts[cutNo++][1]);
      if (op === 0) {
        const line = storeReading(k++, v), p = end;
        at.set(line, p);
        try {
          s.append(line);
        } catch (e) {
          if (!st.off) {
            if (s.end() !== end) return `a refused append moved end() to ${s.end()} from ${end}`;
            const why = refusalWhy(s, `append at ${p}`, `\n${line};`);
            if (why) return why;
            refuse(t, `append refused (${e instanceof Error ? e.message : String(e)})`);
            continue;
          }
        }
        if (st.off) {
          st.powerOn(); s = open();
          const why = check(s, `restarted after a cut appending at ${p}`, true, line);
          if (why) return why;
          continue;
        }
        stored.set(p, line);
        end++;
        if (s.end() !== end) return `after an append at ${p} end() is ${s.end()}`;
        if (storeNumbers(st.files).length > S) return `after an append at ${p}: ${storeNumbers(st.files).length} files, at most ${S}`;
        const back: [number, string][] = [];
        s.since(p, 1, (l, q) => { back.push([q, l]); });
        if (JSON.stringify(back) !== JSON.stringify([[p, line]])) return `the append at ${p} reads back as ${JSON.stringify(back)}`;
      } else if (op === 1) {
        const a = kind === 0 ? end : kind === 1 ? end - 1 - (v % (2 * L)) : kind === 2 ? (Math.floor(asked / L) + (v % 3)) * L : [end + 1, -1, 0.5, persisted, end + L, 2 ** 32, NaN][v % 7];
        const valid = Number.isInteger(a) && a >= 0 && a <= end;
        if (valid && a > asked) asked = a;
        const before = s.acked();
        let e: number;
        try {
          e = s.ack(a);
        } catch (err) {
          if (!st.off) throw err;
          e = -1;
        }
        if (st.off) {
          st.powerOn(); s = open();
          const why = check(s, `restarted after a cut in ack(${a})`, true, null);
          if (why) return why;
          continue;
        }
        if (!valid) {
          if (e !== Err.BAD_ARG) return `ack(${a}) gave ${e ? errName(e) : "0"}, not BAD_ARG (end ${end})`;
          if (s.acked() !== before || s.end() !== end) return `a refused ack(${a}) moved acked() or end()`;
          refuse(t, `ack ${errName(e)}`);
        } else if (e === 0) {
          if (a > before) end++;
          if (a > persisted) persisted = a;
          if (s.end() !== end) return `ack(${a}) from ${before}: end() ${s.end()}, not ${end}`;
          if (s.acked() !== Math.max(before, a)) return `ack(${a}) from ${before}: acked() ${s.acked()}`;
        } else if (e === Err.STORE_FULL) {
          if (s.end() !== end) return `a refused ack(${a}) moved end() to ${s.end()}`;
          const why = refusalWhy(s, `ack(${a})`, `\na,${a};`);
          if (why) return why;
          refuse(t, `ack ${errName(e)}`);
        } else return `ack(${a}) gave ${errName(e)}`;
      } else if (op === 2) {
        const from = [v % (end + 2), end - (v % 3), s.start() - 1 + (v % 3), -1][kind], max = [0, 1, L, 1e9][(v >>> 4) % 4];
        const all = [...stored.entries()].filter(([p]) => p >= s.start()).sort((a, b) => a[0] - b[0]);
        const why = sinceWhy(s, all, from, max);
        if (why) return why;
      } else {
        s = open();
        const why = check(s, "after a restart", false, null);
        if (why) return why;
      }
    }
    st.powerOn();
    // unedited: the files as written must read back as the model says
    if (!x.odd && !x.edits.length) {
      s = open();
      const why = check(s, "at the last restart", false, null);
      if (why) return why;
    }
    if (x.odd) {
      st.files.clear();
      for (const [n, l] of x.odd) st.files.set(STORE_PREFIX + n, `${st.files.get(STORE_PREFIX + n) ?? ""}\n${STORE_TRICKY[l % STORE_TRICKY.length]}`);
    }
    editStore(st.files, x.edits);
    edited = !!x.odd || x.edits.length > 0;
    // whatever the files hold: the readings the format says, in order, then an append, an ack and a restart
    const want = expectedStore(st.files, L);
    s = open();
    const got = keptOf(s);
    if (typeof got === "string") return got;
    if (JSON.stringify(got) !== JSON.stringify(want.all)) return `gave ${JSON.stringify(got)}, the files say ${JSON.stringify(want.all)}`;
    if (s.start() !== want.start || s.end() !== want.end || s.acked() !== want.acked) return `start ${s.start()}, end ${s.end()}, acked ${s.acked()}; the files say ${want.start}, ${want.end}, ${want.acked}`;
    if (!(s.start() <= s.acked() && s.acked() <= s.end())) return `acked() ${s.acked()} outside start ${s.start()} .. end ${s.end()}`;
    if (edited) { t.decoded += got.length; refuse(t, "line skipped", want.skipped); }
    for (const from of [-1, 0, want.start, want.acked, want.end - 1, want.end, want.end + 1]) {
      for (const max of [0, 1, L, 1e9]) { const why = sinceWhy(s, got, from, max); if (why) return why; }
    }
    const line = storeReading(k++, x.seed), p = s.end();
    at.set(line, p);
    try {
      s.append(line);
    } catch (e) {
      refuse(t, `append refused (${e instanceof Error ? e.message : String(e)})`);
      return hookWhy;
    }
    const back: [number, string][] = [];
    s.since(p, 1e9, (l, q) => { back.push([q, l]); });
    if (JSON.stringify(back) !== JSON.stringify([[p, line]]) || s.end() !== p + 1) return `an append at ${p} read back as ${JSON.stringify(back)}, end() ${s.end()}`;
    const a = s.end();
    asked = Math.max(asked, a);
    const e = s.ack(a);
    if (e !== 0 && e !== Err.STORE_FULL) return `ack(${a}) at the end gave ${errName(e)}`;
    const list = keptOf(s);
    const again = open(), list2 = keptOf(again);
    if (typeof list === "string" || typeof list2 === "string" || JSON.stringify(list2) !== JSON.stringify(list)) return `after an append, an ack and a restart gave ${JSON.stringify(list2)}, before it ${JSON.stringify(list)}`;
    if (again.end() !== s.end() || (e === 0 && again.acked() < a)) return `after a restart end() ${again.end()}, acked() ${again.acked()}; before it ${s.end()}, ${e === 0 ? `ack(${a}) done` : "the ack refused"}`;
    return hookWhy;
  },
};
