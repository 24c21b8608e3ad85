/*
 * Fuzz targets for what comes off the power line: the message decoder, the two modem
 * framers, the missing-set report and the MAC check. Each builds valid inputs from the
 * format (the catalogue, the frame layouts, a received-block bitmap), mutates most of
 * them (tools/fuzz/mutate.ts) and adds some random bytes; what a failure is, per target,
 * is in its `failure` line.
 */
import fc from "fast-check";
import { Err } from "../../firmware/common/errors";
import { getU32 } from "../../firmware/common/bytes";
import { hmacSha256 } from "../../firmware/common/hmac";
import { Form, layoutOf, P, T } from "../../firmware/protocol/catalogue";
import { decodeMsg, encodeMsg, newMsg, setMsg, type Msg } from "../../firmware/protocol/codec";
import { buildReport, forEachMissing, isSet, setBit, type MissingReport } from "../../firmware/protocol/missing";
import { encodeFrame as encodeStFrame, St, st7580Framer, StEv } from "../../firmware/link/st7580/frame";
import { encodeTransparent, Tp, TpEv, transparentDeframer } from "../../firmware/link/transparent/frame";
import { concentratorAuth, COUNTER_MAX, COUNTER_STEP, meterAuth } from "../../firmware/link/auth";
import { hostNative, latin1 } from "../../hal/host/native";
import { errName } from "../errors/table";
import { anyMsg, CATALOGUE, copyMsg, encodeFrame, u32, type Frame } from "./catalogue";
import { hex, mutate, mutations, seeded, type Mutation } from "./mutate";
import { refuse, type Target, type Tally } from "./runner";

const same = (a: Uint8Array, b: Uint8Array, n = Math.max(a.length, b.length)) => {
  if (a.length < n || b.length < n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
};

// ---------------------------------------------------------------------------------------
// decodeMsg

interface MsgInput { bytes: Uint8Array; valid: boolean }

const MSG_CODES = new Set([0, Err.TRUNCATED, Err.PROTO_VERSION, Err.PROTO_UNKNOWN_TYPE, Err.PROTO_BAD_ADDRESS, Err.PROTO_TRAILING, Err.PROTO_TOO_LONG]);
const TYPES = CATALOGUE.map((d) => d.type);

/** Leaves (numbers, bytes) and containers a decoded body holds: its allocation, roughly. */
function allocated(v: unknown): number {
  if (v instanceof Uint8Array) return 1;
  if (Array.isArray(v)) return 1 + v.reduce((s: number, x) => s + allocated(x), 0);
  if (v && typeof v === "object") return 1 + Object.values(v).reduce((s: number, x) => s + allocated(x), 0);
  return 1;
}

const validFrame: fc.Arbitrary<Frame> = anyMsg.map(encodeFrame);

/** Valid frames, mutated ones, frames with a plausible header and a random body, random bytes. */
const msgInput: fc.Arbitrary<MsgInput> = fc.oneof(
  { weight: 2, arbitrary: validFrame.map((f) => ({ bytes: f.bytes, valid: true })) },
  { weight: 6, arbitrary: fc.tuple(validFrame, mutations(3)).map(([f, ms]) => ({ bytes: mutate(f.bytes, ms, f.fields), valid: false })) },
  {
    weight: 1, arbitrary: fc.tuple(fc.constantFrom(...TYPES), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 3 }), fc.uint8Array({ maxLength: P.MAX_FRAME - P.HEADER, size: "max" }))
      .map(([type, flags, mode, body]) => {
        const b = new Uint8Array(P.HEADER + body.length);
        b[0] = P.VERSION; b[1] = type; b[2] = flags; b[9] = mode;
        b.set(body, P.HEADER);
        return { bytes: b, valid: false };
      }),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 260, size: "max" }).map((b) => ({ bytes: b, valid: false })) },
);

/** The message decoder and every layout of the catalogue. */
export const msgTarget: Target<MsgInput> = {
  name: "msg",
  about: "decodeMsg over every catalogue layout (firmware/protocol/codec.ts, catalogue.ts)",
  unit: "messages",
  failure: "a throw; a code decodeMsg does not document; a valid frame refused; header fields not the frame's (a whole header in); a decoded message that does not re-encode to the same bytes; a body allocating more values than the frame has bytes; a different answer when the bytes after `len` differ (read past the end); the frame written to",
  decoders: [
    { file: "firmware/protocol/codec.ts", functions: ["decodeMsg", "eachField", "getScalar", "recordWidth", "kindWidth"] },
    { file: "firmware/protocol/catalogue.ts", functions: ["layoutOf"] },
  ],
  arb: msgInput,
  show: (x) => hex(x.bytes),
  run(x, t) {
    const len = x.bytes.length;
    const a = new Uint8Array(len + 16);
    a.set(x.bytes);
    const m = newMsg();
    const e = decodeMsg(a, len, m);
    if (typeof e !== "number") return `returned ${String(e)}, not a code`;
    if (!MSG_CODES.has(e)) return `returned ${errName(e)}, a code decodeMsg does not document`;
    if (!same(a, x.bytes, len) || a.subarray(len).some((v) => v !== 0)) return "wrote to the frame";
    if (len >= P.HEADER && len <= P.MAX_FRAME) {
      if (m.type !== a[1] || m.flags !== a[2] || m.seq !== (a[3] | (a[4] << 8)) || m.src !== getU32(a, 5) || m.mode !== a[9] || m.dst !== getU32(a, 10)) return `${errName(e)}: header fields are not the frame's`;
    }
    let encoded = "";
    if (e === 0) {
      t.decoded++;
      const out = new Uint8Array(P.MAX_FRAME);
      const n = encodeMsg(m, out);
      if (n !== len || !same(out, x.bytes, len)) return `decoded, but re-encodes to ${n < 0 ? errName(-n) : hex(out.subarray(0, n))}`;
      if (allocated(m.body) > len) return `decoded into ${allocated(m.body)} values from ${len} bytes`;
      encoded = hex(out.subarray(0, n));
    } else refuse(t, errName(e));
    if (x.valid && e !== 0) return `a valid frame refused: ${errName(e)}`;
    // nothing read past len: the same answer with other bytes after the frame
    const b = new Uint8Array(len + 16).fill(0xff);
    b.set(x.bytes);
    const m2 = newMsg();
    const e2 = decodeMsg(b, len, m2);
    if (e2 !== e) return `${errName(e)} with zeros after the frame, ${errName(e2)} with 0xFF: read past len`;
    if (e === 0) {
      const out = new Uint8Array(P.MAX_FRAME);
      const n = encodeMsg(m2, out);
      if (hex(out.subarray(0, Math.max(0, n))) !== encoded) return "decoded differently with other bytes after the frame: read past len";
    }
    return null;
  },
};

// ---------------------------------------------------------------------------------------
// Streams for the framers: units (frames, link bytes, noise, broken frames) fed in chunks

interface Unit {
  /** 0 frame, 1 ACK, 2 NAK, 3 status, 4 noise, 5 broken frame. */
  kind: number;
  bytes: Uint8Array;
  /** What the framer must report for it, in a clean stream. */
  expect: string;
}

interface StreamInput {
  units: Unit[];
  /** Chunk ends (positions mod the stream length). */
  cuts: number[];
  /** Milliseconds between chunks, used in turn (some beyond STALE_MS: a late chunk never drops bytes). */
  dts: number[];
  /** After unit (v >> 1) mod count: a stale feed("", t) (v & 1 = 0) or the ST7580 driver's feed("", -1) (1). */
  idles: number[];
  /** Transparent framer only: its maximum payload. */
  maxPayload: number;
}

const clean = (x: StreamInput) => x.units.every((u) => u.kind < 4);

function showStream(x: StreamInput): string {
  return `units ${x.units.map((u) => `${["frame", "ack", "nak", "status", "noise", "broken"][u.kind]}:${hex(u.bytes)}`).join(" ")} cuts ${x.cuts} dts ${x.dts} idles ${x.idles}${x.maxPayload ? ` maxPayload ${x.maxPayload}` : ""}`;
}

/**
 * Feeds the units in chunks at every cut and unit boundary with an idle, then a stale
 * feed("") that must drop what is left, and returns the time reached.
 */
function feedStream(x: StreamInput, feed: (s: string, t: number) => void, driverDrop: boolean): number {
  const stream = new Uint8Array(x.units.reduce((n, u) => n + u.bytes.length, 0));
  const ends: number[] = [];
  let o = 0;
  for (const u of x.units) { stream.set(u.bytes, o); o += u.bytes.length; ends.push(o); }
  const idleAt = new Map<number, number>();
  for (const v of x.idles) idleAt.set(ends[(v >>> 1) % ends.length], v & 1);
  const cuts = [...new Set([...x.cuts.map((c) => c % (stream.length + 1)), ...idleAt.keys(), stream.length])].sort((a, b) => a - b);
  let pos = 0, t = 1000, k = 0;
  for (const c of cuts) {
    if (c > pos) {
      t += x.dts[k++ % x.dts.length];
      feed(latin1(stream.subarray(pos, c)), t);
      pos = c;
    }
    const idle = idleAt.get(c);
    if (idle === 1 && driverDrop) feed("", -1);
    else if (idle !== undefined) feed("", (t += St.STALE_MS + 1));
  }
  feed("", (t += St.STALE_MS + 1));
  return t;
}

/** A stream generator over `frame` and `broken` units: clean streams, mixed streams, and noise alone. */
function streamArb(frame: fc.Arbitrary<Unit>, broken: fc.Arbitrary<Unit>, link: fc.Arbitrary<Unit>[], maxPayload: fc.Arbitrary<number>): fc.Arbitrary<StreamInput> {
  const noise = fc.uint8Array({ minLength: 1, maxLength: 24 }).map((b) => ({ kind: 4, bytes: b, expect: "" }));
  const bigNoise = fc.uint8Array({ minLength: 1, maxLength: 400, size: "max" }).map((b) => ({ kind: 4, bytes: b, expect: "" }));
  const cleanUnit = fc.oneof({ weight: 4, arbitrary: frame }, ...link.map((l) => ({ weight: 1, arbitrary: l })));
  const anyUnit = fc.oneof({ weight: 3, arbitrary: frame }, { weight: 4, arbitrary: broken }, { weight: 2, arbitrary: noise }, ...link.map((l) => ({ weight: 1, arbitrary: l })));
  const plan = { cuts: fc.array(fc.nat(), { maxLength: 6 }), dts: fc.array(fc.nat(1500), { minLength: 1, maxLength: 4 }), idles: fc.array(fc.nat(), { maxLength: 3 }), maxPayload };
  return fc.oneof(
    { weight: 2, arbitrary: fc.record({ units: fc.array(cleanUnit, { minLength: 1, maxLength: 6 }), ...plan }) },
    { weight: 5, arbitrary: fc.record({ units: fc.array(anyUnit, { minLength: 1, maxLength: 6 }), ...plan }) },
    { weight: 1, arbitrary: fc.record({ units: fc.tuple(bigNoise), ...plan }) },
  );
}

// ---------------------------------------------------------------------------------------
// ST7580

const ST_CMDS = [0x3c, 0x3d, 0x3e, 0x3f, 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0f, 0x10, 0x11, 0x13, 0x2c, 0x2d, 0x24, 0x25, 0x26, 0x27, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x36];
const stData = fc.oneof(fc.uint8Array({ maxLength: 16 }), fc.uint8Array({ maxLength: St.MAX_DATA, size: "max" }));

function stBytes(cmd: number, data: Uint8Array, repeat: boolean): Uint8Array {
  const out = new Uint8Array(data.length + St.OVERHEAD);
  encodeStFrame(cmd, data, out);
  if (repeat) out[0] = St.STX_REPEAT;
  return out;
}

const stFrameParts = fc.tuple(fc.oneof(fc.constantFrom(...ST_CMDS), fc.integer({ min: 0, max: 255 })), stData, fc.integer({ min: 0, max: 7 }));
const stFrame: fc.Arbitrary<Unit> = stFrameParts.map(([cmd, data, r]) => ({ kind: 0, bytes: stBytes(cmd, data, r === 0), expect: `F${r === 0 ? 3 : 2}:${cmd}:${hex(data)}` }));
const stBroken: fc.Arbitrary<Unit> = fc.tuple(stFrameParts, mutations(2)).map(([[cmd, data, r], ms]) => {
  const b = stBytes(cmd, data, r === 0);
  return { kind: 5, bytes: mutate(b, ms, [1, b.length - 2, b.length - 1]), expect: "" };
});
const stLink = [
  fc.constant({ kind: 1, bytes: Uint8Array.of(St.ACK), expect: "A" }),
  fc.constant({ kind: 2, bytes: Uint8Array.of(St.NAK), expect: "N" }),
  fc.integer({ min: 0, max: 255 }).map((s) => ({ kind: 3, bytes: Uint8Array.of(St.STATUS, s), expect: `S${s}` })),
];

const ST_EVENTS: Record<number, string> = { [StEv.BAD_CHECKSUM]: "BAD_CHECKSUM", [StEv.GARBAGE]: "GARBAGE", [StEv.TIMEOUT]: "TIMEOUT" };
const ST_SENTINEL = stBytes(0x52, Uint8Array.of(1, 2, 3), false);

/** The ST7580 host-interface framer. */
export const st7580Target: Target<StreamInput> = {
  name: "st7580",
  about: "st7580Framer: streams of frames, link bytes and noise in chunks, with idles (firmware/link/st7580/frame.ts)",
  unit: "frames",
  failure: "a throw; the buffer replaced; a frame reported whose start byte, length or checksum does not verify, or that lies outside the buffer; an unknown event; in a stream of whole frames and link bytes, any event other than those, in order; after the stream and a stale idle, a valid frame not found",
  decoders: [{ file: "firmware/link/st7580/frame.ts", functions: ["st7580Framer"] }],
  arb: streamArb(stFrame, stBroken, stLink, fc.constant(0)),
  show: showStream,
  run(x, t) {
    let why: string | null = null;
    const seen: string[] = [];
    const f = st7580Framer((ev, cmd, len, arg) => {
      const d = f.data;
      if (ev === StEv.FRAME) {
        if (arg < 3 || arg + len + 2 > d.length) { why ??= `a frame at ${arg} of ${len} bytes outside the ${d.length}-byte buffer`; return; }
        let sum = 0;
        for (let k = arg - 2; k < arg + len; k++) sum += d[k];
        if ((d[arg - 3] | 1) !== St.STX_REPEAT || d[arg - 2] !== len || d[arg - 1] !== cmd || (sum & 0xffff) !== (d[arg + len] | (d[arg + len + 1] << 8))) why ??= `a frame reported that does not verify: ${hex(d.subarray(arg - 3, arg + len + 2))}`;
        seen.push(`F${d[arg - 3]}:${cmd}:${hex(d.subarray(arg, arg + len))}`);
      } else if (ev === StEv.ACK) seen.push("A");
      else if (ev === StEv.NAK) seen.push("N");
      else if (ev === StEv.STATUS) seen.push(`S${arg}`);
      else if (ST_EVENTS[ev]) seen.push(ST_EVENTS[ev]);
      else why ??= `unknown event ${ev}`;
    });
    const buf = f.data;
    const end = feedStream(x, (s, ms) => f.feed(s, ms), true);
    const n = seen.length;
    f.feed(latin1(ST_SENTINEL), end + 1);
    if (f.data !== buf) return "the buffer was replaced";
    if (why) return why;
    if (seen.length !== n + 1 || seen[n] !== "F2:82:010203") return `after the stream and a stale idle, a valid frame gave ${JSON.stringify(seen.slice(n))}`;
    const events = seen.slice(0, n);
    for (const e of events) {
      if (e[0] === "F") t.decoded++;
      else if (e.length > 1 && e[0] !== "S") refuse(t, e);
    }
    if (clean(x)) {
      const want = x.units.map((u) => u.expect);
      if (events.join(" ") !== want.join(" ")) return `a stream of whole frames and link bytes gave ${JSON.stringify(events)}, not ${JSON.stringify(want)}`;
    }
    return null;
  },
};

// ---------------------------------------------------------------------------------------
// Transparent modems

const crc32 = hostNative.crc32;

function tpBytes(payload: Uint8Array, pre: number): Uint8Array {
  const out = new Uint8Array(payload.length + Tp.OVERHEAD);
  encodeTransparent(payload, out, crc32);
  return out.subarray(2 - pre);
}

const tpParts = fc.tuple(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.uint8Array({ minLength: 1, maxLength: Tp.MAX_PAYLOAD, size: "max" })), fc.integer({ min: 0, max: 2 }));
const tpFrame: fc.Arbitrary<Unit> = tpParts.map(([p, pre]) => ({ kind: 0, bytes: tpBytes(p, pre), expect: `F${hex(p)}` }));
const tpBroken: fc.Arbitrary<Unit> = fc.tuple(tpParts, mutations(2)).map(([[p, pre], ms]) => {
  const b = tpBytes(p, pre), n = b.length;
  return { kind: 5, bytes: mutate(b, ms, [pre, pre + 1, pre + 2, n - 4, n - 1]), expect: "" };
});
const TP_EVENTS: Record<number, string> = { [TpEv.BAD_CRC]: "BAD_CRC", [TpEv.TOO_LONG]: "TOO_LONG", [TpEv.TIMEOUT]: "TIMEOUT" };
const TP_SENTINEL = tpBytes(Uint8Array.of(0x5a), 2);

/** Our framing for transparent modems. */
export const transparentTarget: Target<StreamInput> = {
  name: "transparent",
  about: "transparentDeframer: streams of frames and noise in chunks, with idles, maximum payloads 1 to 250 (firmware/link/transparent/frame.ts)",
  unit: "frames",
  failure: "a throw; the buffer replaced; a frame reported whose sync word, length (1 to the maximum) or CRC does not verify, or that lies outside the buffer; counts that disagree with the events; in a stream of whole frames, any event other than those, in order; after the stream and a stale idle, a valid frame not found",
  decoders: [{ file: "firmware/link/transparent/frame.ts", functions: ["transparentDeframer"] }],
  arb: streamArb(tpFrame, tpBroken, [], fc.oneof(fc.constant(242), fc.integer({ min: 1, max: 250 }))),
  show: showStream,
  run(x, t) {
    // a clean stream's frames all fit its maximum
    const longest = Math.max(0, ...x.units.map((u) => (u.kind === 0 ? (u.expect.length - 1) / 2 : 0)));
    const given = clean(x) ? Math.max(x.maxPayload, longest) : x.maxPayload, max = Math.min(Tp.MAX_PAYLOAD, given);
    let why: string | null = null;
    const seen: string[] = [];
    const counted = { frames: 0, badCrc: 0, tooLong: 0, timeouts: 0 };
    const f = transparentDeframer(given, crc32, (ev, len, at) => {
      const b = f.buf;
      if (ev === TpEv.FRAME) {
        counted.frames++;
        if (len < 1 || len > max || at < 3 || at + len + 4 > b.length) { why ??= `a frame of ${len} bytes at ${at} (maximum ${max}, buffer ${b.length})`; return; }
        if (b[at - 3] !== Tp.SYNC_HI || b[at - 2] !== Tp.SYNC_LO || b[at - 1] !== len || crc32(b.subarray(at - 1, at + len)) !== getU32(b, at + len)) why ??= `a frame reported that does not verify: ${hex(b.subarray(at - 3, at + len + 4))}`;
        seen.push(`F${hex(b.subarray(at, at + len))}`);
      } else if (TP_EVENTS[ev]) {
        if (ev === TpEv.BAD_CRC) counted.badCrc++; else if (ev === TpEv.TOO_LONG) counted.tooLong++; else counted.timeouts++;
        seen.push(TP_EVENTS[ev]);
      } else why ??= `unknown event ${ev}`;
    });
    const buf = f.buf;
    const end = feedStream(x, (s, ms) => f.feed(s, ms), false);
    const n = seen.length;
    f.feed(latin1(TP_SENTINEL), end + 1);
    if (f.buf !== buf) return "the buffer was replaced";
    if (why) return why;
    const c = f.counts;
    if (c.frames !== counted.frames || c.badCrc !== counted.badCrc || c.tooLong !== counted.tooLong || c.timeouts !== counted.timeouts) return `counts ${JSON.stringify(c)} but events ${JSON.stringify(counted)}`;
    if (seen.length !== n + 1 || seen[n] !== "F5a") return `after the stream and a stale idle, a valid frame gave ${JSON.stringify(seen.slice(n))}`;
    const events = seen.slice(0, n);
    for (const e of events) if (e[0] === "F") t.decoded++; else refuse(t, e);
    if (clean(x)) {
      const want = x.units.map((u) => u.expect);
      if (events.join(" ") !== want.join(" ")) return `a stream of whole frames gave ${JSON.stringify(events)}, not ${JSON.stringify(want)}`;
    }
    return null;
  },
};

// ---------------------------------------------------------------------------------------
// Missing-set reports: buildReport on the meter, forEachMissing on the concentrator

interface MissingInput {
  count: number;
  /** The received bitmap: 0 runs (lengths from `runs`), 1 random at density p, 2 all received, 3 none, 4 one missing, 5 a received prefix then random. */
  mode: number;
  runs: number[];
  p: number;
  seed: number;
  maxMap: number;
  /** Changes to the report after it was built (none: the report as built must be read back truthfully). */
  edits: [field: number, op: number, v: number][];
  map: Mutation[];
  countDelta: number;
}

const REPORT_FIELDS = ["received", "firstMissing", "form", "base", "covers"] as const;

function gotOf(x: MissingInput): Uint8Array {
  const got = new Uint8Array((x.count + 7) >> 3);
  const rnd = seeded(x.seed, x.count);
  const pk = Math.floor(x.p * 256);
  let state = x.seed & 1, left = 0, r = 0;
  for (let i = 0; i < x.count; i++) {
    let have: boolean;
    switch (x.mode) {
      case 0:
        if (left === 0) { state ^= 1; left = 1 + (x.runs.length ? x.runs[r++ % x.runs.length] : 7); }
        left--;
        have = state === 1;
        break;
      case 1: have = rnd[i] >= pk; break;
      case 2: have = true; break;
      case 3: have = false; break;
      case 4: have = i !== x.seed % x.count; break;
      default: have = i < x.seed % (x.count + 1) || rnd[i] >= pk;
    }
    if (have) setBit(got, i);
  }
  return got;
}

const missingInput: fc.Arbitrary<MissingInput> = fc.record({
  count: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 64 }) }, { weight: 4, arbitrary: fc.integer({ min: 0, max: 2100 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 12000 }) }, { weight: 1, arbitrary: fc.constantFrom(1, 8, 1631, 1632, 1633, 0xffff) }),
  mode: fc.integer({ min: 0, max: 5 }),
  runs: fc.array(fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 400 })), { maxLength: 8 }),
  p: fc.constantFrom(0.002, 0.01, 0.05, 0.2, 0.5, 0.9, 0.99),
  seed: fc.nat(),
  maxMap: fc.oneof({ weight: 3, arbitrary: fc.constant(P.MAX_MAP) }, { weight: 2, arbitrary: fc.integer({ min: 4, max: 300 }) }),
  edits: fc.oneof({ weight: 2, arbitrary: fc.constant<[number, number, number][]>([]) }, { weight: 3, arbitrary: fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 0xffff })), { maxLength: 2 }) }),
  map: fc.oneof({ weight: 3, arbitrary: fc.constant<Mutation[]>([]) }, { weight: 2, arbitrary: mutations(2) }),
  countDelta: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }),
});

const edited = (x: MissingInput) => x.edits.length > 0 || x.map.length > 0 || x.countDelta !== 0;

/** The missing-set report: built from a bitmap, read back, and read after edits. */
export const missingTarget: Target<MissingInput> = {
  name: "missing",
  about: "buildReport and forEachMissing, through a STATUS_REPORT encoded and decoded (firmware/protocol/missing.ts)",
  unit: "reports",
  failure: "a throw; a report as built that the reader refuses, that names a block received or leaves out a missing one in its window, whose first missing block or received count is wrong, whose map is over the limit, or that reads differently after the STATUS_REPORT round trip; an edited report read with a block named outside its window or the image, out of order, or after a refusal",
  decoders: [{ file: "firmware/protocol/missing.ts", functions: ["buildReport", "forEachMissing", "isSet", "setBit"] }],
  arb: missingInput,
  show: (x) => JSON.stringify(x),
  run(x, t) {
    const got = gotOf(x);
    const r: MissingReport = { received: 0, firstMissing: 0, form: 0, base: 0, covers: 0, map: new Uint8Array(0) };
    buildReport(got, x.count, x.maxMap, r);
    if (!edited(x)) {
      let received = 0, first = -1;
      for (let i = 0; i < x.count; i++) if (isSet(got, i)) received++; else if (first < 0) first = i;
      if (r.received !== received) return `received ${r.received}, the bitmap has ${received}`;
      if (first < 0 ? r.form !== Form.NONE || r.firstMissing !== P.NONE_MISSING || r.map.length : r.firstMissing !== first || r.base !== first) return `first missing ${first}, the report says form ${r.form} firstMissing ${r.firstMissing} base ${r.base}`;
      if (r.map.length > Math.min(x.maxMap, P.MAX_MAP)) return `a map of ${r.map.length} bytes over the limit ${Math.min(x.maxMap, P.MAX_MAP)}`;
      const named: number[] = [];
      const e = forEachMissing(r, x.count, (b) => named.push(b));
      if (e) return `the reader refuses the report as built: ${errName(e)}`;
      let k = 0;
      for (let b = r.base; b < r.base + r.covers; b++) {
        if (isSet(got, b)) continue;
        if (named[k] !== b) return `block ${named[k]} named where ${b} is the next missing one`;
        k++;
      }
      if (k !== named.length) return `${named.length - k} blocks named beyond the window or received`;
      // through the wire: the STATUS_REPORT as the concentrator decodes it
      const m = setMsg(newMsg(), T.STATUS_REPORT, 1, 7, P.TO_METER, P.BROADCAST_ID, { imageId: 1, state: 1, ...r });
      const frame = new Uint8Array(P.MAX_FRAME);
      const n = encodeMsg(m, frame);
      if (n < 0) return `the report does not encode: ${errName(-n)}`;
      const back = newMsg();
      const d = decodeMsg(frame, n, back);
      if (d) return `the encoded report does not decode: ${errName(d)}`;
      const again: number[] = [];
      if (forEachMissing(back.body, x.count, (b) => again.push(b)) || again.join() !== named.join()) return "the report reads differently after the STATUS_REPORT round trip";
      t.decoded++;
      return null;
    }
    const w = { ...r } as MissingReport & Record<string, number>;
    for (const [f, op, v] of x.edits) {
      const k = REPORT_FIELDS[f];
      w[k] = [w[k] + 1, w[k] - 1, 0, 0xffff, v, w[REPORT_FIELDS[v % 5]]][op] & 0xffff;
    }
    if (x.map.length) w.map = mutate(r.map, x.map);
    const count = Math.max(0, x.count + x.countDelta);
    const named: number[] = [];
    const e = forEachMissing(w, count, (b) => named.push(b));
    if (e !== 0 && e !== Err.PROTO_BAD_FIELD) return `returned ${errName(e)}, a code forEachMissing does not document`;
    if (e) {
      if (named.length) return `refused (${errName(e)}) after naming ${named.length} blocks`;
      refuse(t, errName(e));
      return null;
    }
    for (let i = 0; i < named.length; i++) {
      const b = named[i];
      if (!Number.isInteger(b) || b < w.base || b >= w.base + w.covers || b >= count || (i && b <= named[i - 1])) return `named block ${b} (window ${w.base}+${w.covers}, ${count} blocks, after ${named[i - 1]})`;
    }
    t.decoded++;
    return null;
  },
};

// ---------------------------------------------------------------------------------------
// The MAC check: commands a meter opens, replies the concentrator opens

const H = hmacSha256(hostNative, P.MAX_FRAME)!;
const METER = 0x00c0ffee, UNKEYED = 0x00beef00;
const BROADCAST_OK = new Set<number>([T.DISCOVER, T.UPDATE_CONTROL, T.SELECT_LIST, T.GROUP_QUERY, T.AUTHORIZE_LIST]);
/** Broadcasts a keyed meter takes only signed under its campaign's block key. */
const BLOCKS = new Set<number>([T.DATA_BLOCK, T.REPAIR_BLOCK]);
const CONC_CODES = new Set<number>([0, Err.AUTH_REQUIRED, Err.AUTH_BAD_MAC, Err.AUTH_REPLAY]);
const ahead = (c: number) => Math.min(c + COUNTER_STEP, COUNTER_MAX);

interface AuthInput {
  /** false: a command the meter opens; true: a reply the concentrator opens. */
  reply: boolean;
  msg: Msg;
  answer: Msg;
  keySeed: number;
  /** The concentrator's saved counter; the meter's receive mark (rxAt 1: the command's counter exactly, 2: one below it) and transmit mark. */
  c0: number;
  rx0: number;
  rxAt: number;
  tx0: number;
  /** What the meter's save of its marks returns (0, or a code: its state log refused), always (saveWhen 0) or only for a new transmit mark (1). */
  saveCode: number;
  saveWhen: number;
  /** The command goes to a meter the concentrator holds no keys for (1), or to a group or all (2). */
  unkeyed: number;
  /** 0 byte mutations, 1 the genuine frame, 2 the genuine frame twice (a replay), 3 the message unsigned (any mode), 4 signed with another key. */
  twist: number;
  /** Block keys: 0 neither side holds one, 1 both the same (a keyed campaign), 2 another on each side (the meter's from another campaign), 3 the concentrator's only. */
  blockKeys: number;
  muts: Mutation[];
}

const counterArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 1000 }) }, { weight: 4, arbitrary: u32 }, { weight: 1, arbitrary: fc.integer({ min: COUNTER_MAX - 300, max: COUNTER_MAX }) }, { weight: 1, arbitrary: fc.constantFrom(COUNTER_MAX - 1, COUNTER_MAX) });

const authInput: fc.Arbitrary<AuthInput> = fc.record({
  reply: fc.boolean(), msg: anyMsg, answer: anyMsg, keySeed: fc.nat(),
  c0: counterArb, rx0: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: counterArb }), rxAt: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) }),
  tx0: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: counterArb }),
  saveCode: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(Err.RECORD_TOO_LONG) }), saveWhen: fc.nat(1),
  unkeyed: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) }),
  twist: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) }), muts: mutations(2),
  blockKeys: fc.nat(3),
});

function keysOf(seed: number) {
  const k = seeded(seed, 32);
  return { down: k.subarray(0, 16), up: k.subarray(16, 32) };
}

/** Encodes `m` and signs it with `sign` when it carries the trailer; the frame's bytes. */
function signed(m: Msg, sign: (f: Uint8Array, n: number) => void): Uint8Array {
  const out = new Uint8Array(P.MAX_FRAME);
  const n = encodeMsg(m, out);
  if (n < 0) throw new Error(`the generator made a message the encoder refuses (${errName(-n)})`);
  if (m.flags & P.FLAG_AUTH) sign(out, n);
  return out.slice(0, n);
}

/** What the line delivers for the genuine frame `g` of message `m` under the input's twist. */
function delivered(x: AuthInput, g: Uint8Array, m: Msg, wrong: (f: Uint8Array, n: number) => void): Uint8Array[] {
  switch (x.twist) {
    case 1: return [g];
    case 2: return [g, g];
    case 3: {
      const c = copyMsg(m);
      c.flags &= ~P.FLAG_AUTH;
      c.mode = x.msg.mode;
      c.counter = 0; c.mac = null;
      return [signed(c, () => {})];
    }
    case 4: return m.flags & P.FLAG_AUTH ? [signed(m, wrong)] : [g];
  }
  return [mutate(g, x.muts, [0, 1, 2, 9, g.length - 12, g.length - 9, g.length - 1])];
}

/** The MAC check on both sides, on mutated valid signed frames. */
export const authTarget: Target<AuthInput> = {
  name: "auth",
  about: "meterAuth and concentratorAuth on signed frames of every catalogue type, mutated, replayed, unsigned or signed with another key; counters and saves at their limits (firmware/link/auth.ts)",
  unit: "frames",
  failure: "a throw; a code open() does not document; a frame other than the genuine one accepted addressed (meter) or as a keyed meter's reply other than DISCOVER_REPLY or DEFICIT (concentrator); an unauthenticated broadcast of a type the meter must not take accepted; a broadcast block accepted that the meter's block key did not sign, or a genuine one refused; a broadcast block of a keyed campaign left unsigned, or any other broadcast signed; the genuine frame's verdict other than its counters and the save say; a refused frame that cost the meter a save or a signed reply; a replay refusal without the meter's signed mark, or one the concentrator does not take to move above the mark and be accepted again; a frame other than the genuine one that moved the concentrator's counter",
  decoders: [{ file: "firmware/link/auth.ts", functions: ["meterAuth", "concentratorAuth", "macOk", "ahead"] }],
  arb: authInput,
  show: (x) => JSON.stringify({ ...x, msg: hex(signed(x.msg, () => {})), answer: hex(signed(x.answer, () => {})) }),
  run(x, t) {
    const keys = keysOf(x.keySeed), other = keysOf(x.keySeed + 1);
    let saved = x.c0;
    const conc = concentratorAuth(H, (id) => (id === METER ? keys : null), (id) => (id === METER ? 0 : -1), 1, { load: () => saved, save: (hw) => { saved = hw; } });
    const concBk = x.blockKeys ? seeded(x.keySeed + 2, 16) : null, meterBk = x.blockKeys === 1 ? concBk : x.blockKeys === 2 ? seeded(x.keySeed + 3, 16) : null;
    conc.blocks(concBk);
    // the meter's save fails (saveCode) always, or only when its transmit mark moves (saveWhen 1)
    let saves = 0, txMark = x.tx0;
    const rx0 = x.reply ? 0 : x.rxAt ? Math.max(0, x.c0 + 2 - x.rxAt) : x.rx0;
    const meter = meterAuth(H, keys, rx0, x.tx0, (_rx, tx) => {
      saves++;
      const code = x.reply || (x.saveWhen && tx === txMark) ? 0 : x.saveCode;
      if (!code) txMark = tx;
      return code;
    }, () => meterBk);
    const openCode = x.saveWhen ? 0 : x.saveCode;
    const cmd = copyMsg(x.msg);
    cmd.mode = P.TO_METER; cmd.dst = METER; cmd.src = P.BROADCAST_ID;
    if (!x.reply && x.unkeyed === 1) cmd.dst = UNKEYED;
    if (!x.reply && x.unkeyed === 2) cmd.mode = x.msg.mode || P.TO_ALL;
    const sealed = conc.seal(cmd);
    if (sealed) {
      if (sealed !== Err.AUTH_EXHAUSTED || x.c0 < COUNTER_MAX || cmd.dst !== METER || cmd.mode !== P.TO_METER) return `the concentrator's seal returned ${errName(sealed)} at counter ${x.c0}`;
      refuse(t, `seal ${errName(sealed)}`);
      return null;
    }
    const keyed = cmd.dst === METER && cmd.mode === P.TO_METER;
    const block = cmd.mode !== P.TO_METER && BLOCKS.has(cmd.type);
    if (block && concBk) {
      if (!(cmd.flags & P.FLAG_AUTH) || cmd.counter !== 0 || conc.counter() !== x.c0) return `a broadcast block of a keyed campaign went with flags ${cmd.flags}, counter ${cmd.counter}, or spent a counter`;
    } else if (!keyed) {
      if (cmd.flags & P.FLAG_AUTH || conc.counter() !== x.c0) return `a command ${cmd.mode === P.TO_METER ? "to a meter without keys" : "to a group or all"} was signed or spent a counter`;
    } else if (!(cmd.flags & P.FLAG_AUTH) || cmd.counter !== x.c0 + 1) return `a command to a keyed meter went with flags ${cmd.flags}, counter ${cmd.counter} (saved ${x.c0})`;
    const g = signed(cmd, (f, n) => conc.sign(f, n));
    const c = cmd.counter;
    if (!x.reply) {
      const frames = delivered(x, g, cmd, (f, n) => H.mac(other.down, f, n - P.MAC, f, n - P.MAC, P.MAC));
      // the meter's state as its counters say, and the counter of the concentrator's newest request
      let last = rx0, hw = rx0, newest = c;
      for (let k = 0; k < frames.length; k++) {
        const f = frames[k], rx = newMsg();
        const d = decodeMsg(f, f.length, rx);
        if (d) { refuse(t, errName(d)); continue; }
        const before = saves;
        const e = meter.open(rx, f, f.length);
        const genuine = same(f, g) && keyed;
        if (e !== 0 && e !== Err.AUTH_REQUIRED && e !== Err.AUTH_BAD_MAC && e !== Err.AUTH_REPLAY && e !== Err.AUTH_EXHAUSTED && e !== openCode) return `meter open() returned ${errName(e)}`;
        if (e === 0) {
          if (rx.mode === P.TO_METER && !genuine) return `a forged command accepted: ${hex(f)}`;
          if (rx.mode !== P.TO_METER && BLOCKS.has(rx.type) && !(same(f, g) && block && x.blockKeys === 1)) return `a broadcast block its campaign's key did not sign accepted: ${hex(f)}`;
          if (rx.mode !== P.TO_METER && !BLOCKS.has(rx.type) && !BROADCAST_OK.has(rx.type)) return `an unauthenticated ${rx.mode === P.TO_GROUP ? "group" : "broadcast"} message of type 0x${rx.type.toString(16)} accepted`;
          t.decoded++;
        } else {
          refuse(t, errName(e));
          if (saves !== before && e !== openCode) return `a refused command (${errName(e)}) cost the meter a save`;
        }
        if (same(f, g) && block && x.blockKeys === 1 && e !== 0) return `a genuine broadcast block of the campaign refused with ${errName(e)}`;
        if (genuine) {
          const want = last >= COUNTER_MAX ? Err.AUTH_EXHAUSTED : c <= last ? Err.AUTH_REPLAY : c > hw && openCode ? openCode : 0;
          if (e !== want) return `the genuine command (counter ${c}, last accepted ${last}, mark ${hw}) gave ${errName(e)}, not ${errName(want)}`;
          if (e === 0) { last = c; if (c > hw) hw = ahead(c); }
        }
        if (e === Err.AUTH_REPLAY) {
          // the meter tells where its mark is, signed and bound to that command; the concentrator moves above it
          const err = setMsg(newMsg(), T.ERROR, rx.seq, METER, P.TO_METER, P.BROADCAST_ID, { refType: rx.type, refSeq: rx.seq, code: Err.AUTH_REPLAY });
          meter.seal(err);
          if (!(err.flags & P.FLAG_AUTH) || err.counter !== hw) return `the replay refusal went with flags ${err.flags}, counter ${err.counter}, not signed with the mark ${hw}`;
          const ef = signed(err, (fr, n) => meter.sign(fr, n)), em = newMsg();
          if (genuine && c === newest) {
            if (decodeMsg(ef, ef.length, em) || conc.open(em, ef, ef.length) !== Err.AUTH_REPLAY) return "the concentrator did not take the meter's signed replay refusal";
            if (conc.counter() < hw) return `the concentrator stayed at counter ${conc.counter()} below the meter's mark ${hw}`;
            const again = copyMsg(cmd);
            if (conc.seal(again) === 0) {
              newest = again.counter;
              const af = signed(again, (fr, n) => conc.sign(fr, n)), am = newMsg();
              const a = decodeMsg(af, af.length, am) || meter.open(am, af, af.length);
              const want = last >= COUNTER_MAX ? Err.AUTH_EXHAUSTED : openCode && again.counter > hw ? openCode : 0;
              if (a !== want) return `after the replay refusal the command sent again (counter ${again.counter}, mark ${hw}) gave ${errName(a)}, not ${errName(want)}`;
              if (a === 0) { last = again.counter; if (again.counter > hw) hw = ahead(again.counter); meter.seal(setMsg(newMsg(), T.ACK, 1, METER, P.TO_METER, P.BROADCAST_ID, { refType: 0, refSeq: 0 })); }
            }
          }
          continue;
        }
        const ack = setMsg(newMsg(), T.ACK, 1, METER, P.TO_METER, P.BROADCAST_ID, { refType: rx.type, refSeq: rx.seq });
        const sl = meter.seal(ack);
        const signedAck = (ack.flags & P.FLAG_AUTH) !== 0;
        if (signedAck && !(e === 0 && rx.mode === P.TO_METER)) return `after ${errName(e)} on a ${rx.mode === P.TO_METER ? "unicast" : "broadcast"} command, the reply was signed`;
        if (!signedAck && e === 0 && rx.mode === P.TO_METER && !x.saveCode && !(sl === Err.AUTH_EXHAUSTED && x.tx0 >= COUNTER_MAX - 1)) return `the reply to an accepted command was not signed (${errName(sl)}, transmit mark ${x.tx0})`;
        if (signedAck && ack.counter > txMark) return `a reply signed with counter ${ack.counter} above the saved transmit mark ${txMark}`;
        if (genuine && e === 0 && x.twist === 1) {
          // the next command inside the mark saved ahead is taken without another save
          const next = copyMsg(cmd);
          if (conc.seal(next) === 0 && next.counter <= hw && next.counter > last) {
            const nf = signed(next, (fr, n) => conc.sign(fr, n)), nm = newMsg(), was = saves;
            const a = decodeMsg(nf, nf.length, nm) || meter.open(nm, nf, nf.length);
            if (a !== 0 || saves !== was) return `the next command (counter ${next.counter}, inside the mark ${hw}) gave ${errName(a)} after ${saves - was} saves`;
            last = next.counter;
          }
        }
      }
      return null;
    }
    // the reply to a command the meter accepted
    const rx = newMsg();
    if (decodeMsg(g, g.length, rx) || meter.open(rx, g, g.length)) return "a genuine command was not accepted";
    const ans = copyMsg(x.answer);
    ans.mode = P.TO_METER; ans.src = METER; ans.dst = P.BROADCAST_ID;
    const s = meter.seal(ans);
    if (s || !(ans.flags & P.FLAG_AUTH)) {
      if (s === Err.AUTH_EXHAUSTED && x.tx0 >= COUNTER_MAX - 1) { refuse(t, `seal ${errName(s)}`); return null; }
      return `the meter did not sign its reply (${errName(s)})`;
    }
    const ga = signed(ans, (f, n) => meter.sign(f, n));
    const frames = delivered(x, ga, ans, (f, n) => H.mac(other.up, f, n - P.MAC, f, n - P.MAC, P.MAC, c));
    const replayErr = ans.type === T.ERROR && ans.body.code === Err.AUTH_REPLAY;
    for (let k = 0; k < frames.length; k++) {
      const f = frames[k], m = newMsg();
      const d = decodeMsg(f, f.length, m);
      if (d) { refuse(t, errName(d)); continue; }
      const was = conc.counter();
      const e = conc.open(m, f, f.length);
      const genuine = same(f, ga);
      if (!CONC_CODES.has(e)) return `concentrator open() returned ${errName(e)}`;
      if (e === 0) {
        if (!genuine && m.src === METER && m.type !== T.DISCOVER_REPLY && m.type !== T.DEFICIT) return `a forged reply accepted: ${hex(f)}`;
        t.decoded++;
      } else refuse(t, errName(e));
      if (conc.counter() !== was && !(genuine && replayErr)) return `a ${genuine ? "genuine" : "forged"} reply moved the counter from ${was} to ${conc.counter()}`;
      if (genuine) {
        const want = ans.type === T.DISCOVER_REPLY || ans.type === T.DEFICIT ? 0 : replayErr || k > 0 ? Err.AUTH_REPLAY : 0;
        if (e !== want) return `the genuine reply${k ? ", again," : ""} gave ${errName(e)}, not ${errName(want)}`;
      }
    }
    return null;
  },
};
