import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encodeFrame, st7580Framer } from "../../../firmware/link/st7580/frame";

const hex = (s: string) => Uint8Array.from(s.split(" ").map((x) => parseInt(x, 16)));
const str = (b: Uint8Array) => String.fromCharCode(...b);
// const enum values, as the wire has them
const EV = { FRAME: 1, STATUS: 4, BAD_CHECKSUM: 5, ACK: 6, TIMEOUT: 7, GARBAGE: 8, NAK: 0x15 };

function collect() {
  const events: { ev: number; cmd: number; data: number[]; arg: number }[] = [];
  // the framer's events tallied (the driver keeps these counts in its LinkStats)
  const counts = { frames: 0, badChecksum: 0, garbage: 0 };
  // for a frame, arg is where its data start; report the repeat flag (STX 0x03) instead
  const fr = st7580Framer((ev, cmd, len, arg) => {
    if (ev === EV.FRAME) counts.frames++; else if (ev === EV.BAD_CHECKSUM) counts.badChecksum++; else if (ev === EV.GARBAGE) counts.garbage++;
    events.push(ev === EV.FRAME
      ? { ev, cmd, data: [...fr.data.subarray(arg, arg + len)], arg: fr.data[arg - 3] === 0x03 ? 1 : 0 }
      : { ev, cmd, data: [], arg });
  });
  const f = Object.assign(fr, { counts });
  return { f, events };
}

describe("ST7580 local frames", () => {
  it("encodes DL_DataRequest of 0xAB with option 0x04 exactly as the worked example", () => {
    const out = new Uint8Array(16);
    const n = encodeFrame(0x50, hex("04 AB"), out);
    expect([...out.subarray(0, n)]).toEqual([...hex("02 02 50 04 AB 01 01")]);
  });

  it("decodes the worked DL_DataConfirm and DL_DataIndication, one byte at a time", () => {
    const { f, events } = collect();
    let t = 0;
    for (const b of [...hex("02 05 51 54 54 00 F2 9E 8E 02"), ...hex("02 05 52 18 19 0D 5C AB 9C 01")]) f.feed(String.fromCharCode(b), t++);
    expect(events).toEqual([
      { ev: EV.FRAME, cmd: 0x51, data: [0x54, 0x54, 0x00, 0xf2, 0x9e], arg: 0 },
      { ev: EV.FRAME, cmd: 0x52, data: [0x18, 0x19, 0x0d, 0x5c, 0xab], arg: 0 },
    ]);
    expect(f.counts.frames).toBe(2);
  });

  it("reports ACK, NAK, status bytes, repeated frames and bad checksums, and skips garbage", () => {
    const { f, events } = collect();
    f.feed("\x06\x15\x3f\x06\xee" + str(hex("03 02 50 04 AB 01 01")) + str(hex("02 02 50 04 AB 01 02")), 0);
    expect(events.map((e) => e.ev)).toEqual([EV.ACK, EV.NAK, EV.STATUS, EV.GARBAGE, EV.FRAME, EV.BAD_CHECKSUM]);
    expect(events[2].arg).toBe(0x06); // busy status
    expect(events[3].arg).toBe(0xee);
    expect(events[4].arg).toBe(1); // STX 0x03: a repeated frame
    expect(f.counts).toEqual({ frames: 1, badChecksum: 1, garbage: 1 });
  });

  it("a bad checksum drops only the start byte: a frame that began inside the broken one is found", () => {
    const { f, events } = collect();
    // a DL indication cut short after 6 bytes (it claims 5 data bytes), then a whole confirm
    f.feed(str(hex("02 05 52 18 19 0D")) + str(hex("02 02 50 04 AB 01 01")), 0);
    expect(events.map((e) => e.ev)).toEqual([EV.BAD_CHECKSUM, EV.GARBAGE, EV.GARBAGE, EV.GARBAGE, EV.GARBAGE, EV.GARBAGE, EV.FRAME]);
    expect(events[6]).toEqual({ ev: EV.FRAME, cmd: 0x50, data: [0x04, 0xab], arg: 0 });
    expect(f.counts).toEqual({ frames: 1, badChecksum: 1, garbage: 5 });
  });

  it("keeps a frame that pauses between chunks however long, and gives up on one only when flushed stale", () => {
    const { f, events } = collect();
    f.feed("\x02\x05\x51\x54", 0);
    f.feed(str(hex("54 00 F2 9E 8E 02")), 5000); // a late chunk still completes the frame
    expect(events.map((e) => e.ev)).toEqual([EV.FRAME]);
    f.feed("\x02\x40\x51\x54", 6000); // claims 64 data bytes, and nothing more comes
    f.feed("", 6500); // not stale yet
    f.feed(str(hex("02 02 50 04 AB 01 01")), 6600); // swallowed into the partial frame for now
    expect(events.length).toBe(1);
    f.feed("", 7101); // 501 ms after the last byte: its start byte goes, the rest is rescanned
    expect(events.map((e) => e.ev)).toEqual([EV.FRAME, EV.TIMEOUT, EV.GARBAGE, EV.GARBAGE, EV.GARBAGE, EV.FRAME]);
    expect(events[5].data).toEqual([0x04, 0xab]);
    expect(f.counts).toEqual({ frames: 2, badChecksum: 0, garbage: 3 });
  });

  it("refuses to encode more than 255 data bytes or into a short buffer", () => {
    expect(encodeFrame(0x50, new Uint8Array(256), new Uint8Array(300))).toBe(-1);
    expect(encodeFrame(0x50, new Uint8Array(10), new Uint8Array(14))).toBe(-1);
  });

  it("property: random bytes in random chunks never throw, and a frame after a stale flush always decodes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 64 }), (noise, data, cmd, chunk) => {
        const { f, events } = collect();
        const s = str(noise);
        for (let i = 0; i < s.length; i += chunk) f.feed(s.slice(i, i + chunk), 0);
        f.feed("", 501); // whatever was left of the noise is stale: the framer starts clean
        const out = new Uint8Array(data.length + 5);
        encodeFrame(cmd, data, out);
        f.feed(str(out), 502);
        const last = events[events.length - 1];
        expect(last.ev).toBe(EV.FRAME);
        expect(last.cmd).toBe(cmd);
        expect(last.data).toEqual([...data]);
      }),
      { numRuns: 3000 },
    );
  });
});
