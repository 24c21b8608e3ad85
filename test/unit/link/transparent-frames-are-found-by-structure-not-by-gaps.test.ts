/*
 * The transparent-modem deframer finds frames by sync word, length and CRC-32; time
 * between chunks never drops a frame. (Before, a frame idle 50 ms between `data` events
 * was dropped: a 100 bit/s module alone spaces its bytes 80 ms apart.)
 */
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../../hal/mock/clock";
import { MockUart } from "../../../hal/mock/uart";
import { hostNative } from "../../../hal/mock/native";
import { MockTransparentModem } from "../../../hal/mock/transparent-modem";
import { encodeTransparent, transparentDeframer } from "../../../firmware/link/transparent/frame";
import { transparentModem } from "../../../firmware/link/transparent/driver";

const str = (b: Uint8Array) => hostNative.bytesToString(b);

function frame(payload: number[]): Uint8Array {
  const out = new Uint8Array(payload.length + 9);
  encodeTransparent(Uint8Array.from(payload), out, hostNative.crc32);
  return out;
}

describe("transparent frames are found by structure, not by gaps", () => {
  it("takes frames cut into pieces with gaps up to 100 ms inside them, through noise, a stray sync word and a truncated frame", () => {
    const clock = new VirtualClock();
    const uart = new MockUart({ kind: "random", max: 6, seed: 4 });
    uart.pace(clock, 100, 8);
    const got: number[][] = [];
    const d = transparentDeframer(242, hostNative.crc32, (ev, len, at) => { if (ev === 1) got.push([...d.buf.subarray(at, at + len)]); });
    uart.onData((c) => d.feed(c, clock.now()));
    const want: number[][] = [];
    for (let i = 0; i < 30; i++) {
      const p = Array.from({ length: 1 + ((i * 29) % 80) }, (_, k) => (i * 11 + k * 5) & 0xff);
      want.push(p);
      let s = str(frame(p));
      if (i % 3 === 0) s = "\x00\x13\xaa\x2d" + s; // noise, half a sync word
      if (i % 7 === 1) s = str(frame([9, 9, 9, 9, 9, 9]).subarray(0, 7)) + s; // a frame cut short
      if (i === 15) s = "\x2d\xd4\xf0" + s; // a stray sync word that claims 240 bytes
      uart.inject(s);
    }
    clock.advance(120_000);
    d.feed("", clock.now());
    expect(got).toEqual(want);
    expect(d.counts.frames).toBe(30);
    expect(d.counts.badCrc).toBeGreaterThanOrEqual(5);
  });

  it("the driver delivers frames from the line that reach it in pieces with gaps up to 100 ms", () => {
    const clock = new VirtualClock();
    const uart = new MockUart({ kind: "random", max: 16, seed: 6 });
    uart.pace(clock, 100, 2);
    const modem = new MockTransparentModem(clock, uart);
    modem.garbage = "\x55\x2d";
    const rx: number[][] = [];
    const drv = transparentModem(uart, clock, hostNative, { ready: () => {}, sent: () => {}, received: (b, l) => rx.push([...b.subarray(0, l)]) },
      { baud: 9600, lineBitRate: 2400, turnaroundMs: 10, maxPayload: 242, attempts: 4, seed: 1 });
    drv.start();
    for (let i = 0; i < 10; i++) {
      modem.fromLine(frame(Array.from({ length: 50 }, (_, k) => i + k)), 0, false);
      clock.advance(5000);
    }
    expect(rx.map((r) => r[0])).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(drv.stats).toMatchObject({ rxFrames: 10, rxBad: 0 });
  });
});
