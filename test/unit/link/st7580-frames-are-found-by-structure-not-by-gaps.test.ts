/*
 * The ST7580 framer finds frames by start byte, length and checksum. Time between chunks
 * never drops a frame: the Linux build reads a pseudo-terminal 32 bytes per pass with
 * gaps up to about 50 ms, and a busy program or a flash erase stretches them further.
 * (Before, a frame idle 10 ms between `data` events was dropped.)
 */
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../../hal/mock/clock";
import { MockUart } from "../../../hal/mock/uart";
import { hostNative } from "../../../hal/mock/native";
import { MockSt7580 } from "../../../hal/mock/st7580-modem";
import { encodeFrame, st7580Framer } from "../../../firmware/link/st7580/frame";
import { st7580Modem } from "../../../firmware/link/st7580/driver";

const EV = { FRAME: 1, BAD_CHECKSUM: 5 };
const str = (b: Uint8Array | number[]) => String.fromCharCode(...b);

function frame(cmd: number, data: number[]): string {
  const out = new Uint8Array(data.length + 5);
  encodeFrame(cmd, Uint8Array.from(data), out);
  return str(out);
}

describe("ST7580 frames are found by structure, not by gaps", () => {
  it("takes frames cut into pieces with gaps up to 100 ms inside them, through garbage, a stray start byte and a truncated frame", () => {
    const clock = new VirtualClock();
    const uart = new MockUart({ kind: "random", max: 7, seed: 11 });
    uart.pace(clock, 100, 5);
    const got: { cmd: number; data: number[] }[] = [];
    let bad = 0, frames = 0;
    const f = st7580Framer((ev, cmd, len, arg) => {
      if (ev === EV.FRAME) { frames++; got.push({ cmd, data: [...f.data.subarray(arg, arg + len)] }); }
      if (ev === EV.BAD_CHECKSUM) bad++;
    });
    uart.onData((c) => f.feed(c, clock.now()));
    const want: { cmd: number; data: number[] }[] = [];
    for (let i = 0; i < 30; i++) {
      const data = Array.from({ length: 1 + ((i * 37) % 60) }, (_, k) => (i * 13 + k * 7) & 0xff);
      want.push({ cmd: 0x52, data });
      let s = frame(0x52, data);
      if (i % 3 === 0) s = "\xee\x00\x99" + s; // garbage between frames
      if (i % 7 === 1) s = frame(0x52, [1, 2, 3, 4, 5, 6, 7, 8]).slice(0, 6) + s; // a frame cut short
      if (i === 15) s = "\x02\xff" + s; // a stray start byte that claims 255 data bytes
      uart.inject(s);
    }
    clock.advance(120_000);
    f.feed("", clock.now()); // the driver's timer: whatever is left is stale
    expect(got).toEqual(want);
    expect(bad).toBeGreaterThanOrEqual(5);
    expect(frames).toBe(30);
  });

  it("the driver sends and receives through a pseudo-terminal: reads of up to 32 bytes with gaps up to 50 ms, no T_REQ or RESETN", () => {
    const clock = new VirtualClock();
    const uart = new MockUart({ kind: "random", max: 32, seed: 2 });
    uart.pace(clock, 50, 3);
    const treq = null, resetn = null;
    const modem = new MockSt7580(clock, uart, treq, resetn, { baud: 57600 });
    const ev = { ready: [] as number[], sent: [] as number[], rx: [] as number[][] };
    const drv = st7580Modem(uart, treq, resetn, clock, hostNative, {
      ready: (e) => ev.ready.push(e),
      sent: (e) => ev.sent.push(e),
      received: (d, l) => ev.rx.push([...d.subarray(0, l)]),
    }, { baud: 57600, txOption: 0x04, attempts: 3 });
    drv.start();
    clock.advance(5000);
    expect(ev.ready).toEqual([0]);
    for (let i = 0; i < 20; i++) {
      expect(drv.send(Uint8Array.from(Array.from({ length: 40 }, (_, k) => i + k)), 40)).toBe(0);
      modem.fromLine(Uint8Array.from(Array.from({ length: 60 }, (_, k) => 200 - i + k)), 20, false);
      clock.advance(3000);
    }
    expect(ev.sent).toEqual(Array(20).fill(0));
    expect(modem.transmitted.map((t) => t[0])).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // each indication once, whole, in order (the modem's repeats for late ACKs are not delivered twice)
    expect(ev.rx.map((r) => r[0])).toEqual(Array.from({ length: 20 }, (_, i) => 200 - i));
    expect(ev.rx.every((r) => r.length === 60)).toBe(true);
    expect(drv.stats).toMatchObject({ rxBad: 0, txFailed: 0, resets: 1 });
  });
});
