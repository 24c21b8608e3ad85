import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodeMsg, encodeMsg, newMsg } from "../../../firmware/protocol/codec";
import { MESSAGES, byName, msgArb, plain, sampleMsg } from "../../harness/messages";

const E = { TRUNCATED: 3, PROTO_VERSION: 60, PROTO_UNKNOWN_TYPE: 61, PROTO_TRAILING: 62, PROTO_BAD_FIELD: 63, PROTO_BAD_ADDRESS: 64, PROTO_TOO_LONG: 65 };

function roundTrip(m: ReturnType<typeof newMsg>) {
  const out = new Uint8Array(300);
  const n = encodeMsg(m, out);
  expect(n, `encode ${m.type}`).toBeGreaterThan(0);
  expect(n).toBeLessThanOrEqual(242);
  const back = newMsg();
  expect(decodeMsg(out, n, back)).toBe(0);
  return { n, back, bytes: out.subarray(0, n) };
}

describe("every message type", () => {
  for (const def of MESSAGES) {
    it(`${def.name} round-trips for any field values that fit, with and without the trailer`, () => {
      fc.assert(fc.property(msgArb(def), (m) => {
        const { back } = roundTrip(m);
        expect(plain(back)).toEqual(plain(m));
      }), { numRuns: 300 });
    });
  }

  it("lays out the header as documented, little endian", () => {
    const m = sampleMsg(byName("UPDATE_SELECT"), 0x1234, 0xa1b2c3d4, 0x01020304);
    m.body = { imageId: 0x0506, op: 1 };
    m.mode = 1;
    const { bytes } = roundTrip(m);
    expect([...bytes]).toEqual([1, 0x40, 0, 0x34, 0x12, 0xd4, 0xc3, 0xb2, 0xa1, 1, 4, 3, 2, 1, 6, 5, 1]);
  });

  it("puts the trailer after the body and only when flag bit 0 is set", () => {
    const m = sampleMsg(byName("CONFIRM"), 1);
    m.body = { imageId: 9 };
    m.flags = 1; m.counter = 0x11223344; m.mac = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const { bytes, back } = roundTrip(m);
    expect(bytes.length).toBe(14 + 2 + 12);
    expect([...bytes.subarray(16)]).toEqual([0x44, 0x33, 0x22, 0x11, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(back.counter).toBe(0x11223344);
    m.flags = 0;
    expect(roundTrip(m).bytes.length).toBe(16);
  });

  it("carries a 212-byte block with the trailer in 242 bytes and refuses 213", () => {
    const m = sampleMsg(byName("DATA_BLOCK"), 1);
    m.flags = 1; m.mac = new Uint8Array(8);
    m.body = { imageId: 1, index: 2, data: new Uint8Array(212) };
    expect(roundTrip(m).n).toBe(242);
    m.body.data = new Uint8Array(213);
    expect(encodeMsg(m, new Uint8Array(300))).toBe(-E.PROTO_TOO_LONG);
  });

  it("fits the largest lists it documents: 16 registers, 40 profile slots, with the trailer", () => {
    const r = sampleMsg(byName("READINGS"), 1);
    r.flags = 1; r.mac = new Uint8Array(8);
    const reg = { obis: new Uint8Array(6), unit: 30, scaler: -3, value: 1, status: 0 };
    r.body = { time: 1, regs: Array(16).fill(reg) };
    expect(roundTrip(r).n).toBeLessThanOrEqual(242);
    r.body.regs = Array(17).fill(reg);
    expect(encodeMsg(r, new Uint8Array(300))).toBe(-E.PROTO_TOO_LONG);
    const p = sampleMsg(byName("PROFILE"), 1);
    p.flags = 1; p.mac = new Uint8Array(8);
    p.body = { obis: new Uint8Array(6), unit: 30, scaler: 0, start: 0, period: 900, slots: Array(40).fill({ value: 5, status: 0 }) };
    expect(roundTrip(p).n).toBeLessThanOrEqual(242);
    p.body.slots = Array(41).fill({ value: 5, status: 0 });
    expect(encodeMsg(p, new Uint8Array(300))).toBe(-E.PROTO_TOO_LONG);
  });

  it("refuses to encode values that do not fit their field, naming the problem by code", () => {
    const m = sampleMsg(byName("UPDATE_CONTROL"), 1);
    const out = new Uint8Array(300);
    for (const [field, v] of [["imageId", 0x10000], ["version", -1], ["blockSize", 1.5], ["digest", new Uint8Array(31)], ["start", undefined], ["size", "12"]] as const) {
      const copy = { ...m, body: { ...m.body, [field]: v } };
      expect(encodeMsg(copy, out), field).toBe(-E.PROTO_BAD_FIELD);
    }
    expect(encodeMsg({ ...m, type: 0x99 }, out)).toBe(-E.PROTO_UNKNOWN_TYPE);
    expect(encodeMsg({ ...m, mode: 3 }, out)).toBe(-E.PROTO_BAD_ADDRESS);
    expect(encodeMsg({ ...m, seq: 70000 }, out)).toBe(-E.PROTO_BAD_FIELD);
    expect(encodeMsg({ ...m, flags: 1, mac: null }, out)).toBe(-E.PROTO_BAD_FIELD);
    expect(encodeMsg(m, new Uint8Array(20))).toBe(-E.PROTO_TOO_LONG);
  });

  it("decodes to an error code for each kind of bad frame, never throwing", () => {
    const m = sampleMsg(byName("STATUS_REPORT"), 3);
    const out = new Uint8Array(300);
    const n = encodeMsg(m, out);
    const back = newMsg();
    const bad = (mut: (b: Uint8Array) => void, len = n) => { const b = out.slice(); mut(b); return decodeMsg(b, len, back); };
    expect(bad(() => {}, 13)).toBe(E.TRUNCATED);
    expect(bad((b) => { b[0] = 2; })).toBe(E.PROTO_VERSION);
    expect(bad((b) => { b[1] = 0x7f; })).toBe(E.PROTO_UNKNOWN_TYPE);
    expect(bad((b) => { b[9] = 3; })).toBe(E.PROTO_BAD_ADDRESS);
    expect(bad(() => {}, 243)).toBe(E.PROTO_TOO_LONG);
    expect(bad((b) => { b[2] = 1; }, 14 + 11)).toBe(E.TRUNCATED);
    const v = sampleMsg(byName("VERSION"), 1);
    const vn = encodeMsg(v, out);
    expect(decodeMsg(out, vn + 1, back)).toBe(E.PROTO_TRAILING);
    expect(decodeMsg(out, vn - 1, back)).toBe(E.TRUNCATED);
    const r = sampleMsg(byName("READINGS"), 1);
    const rn = encodeMsg(r, out);
    out[18] = 200; // list count far beyond the bytes left
    expect(decodeMsg(out, rn, back)).toBe(E.TRUNCATED);
  });
});
