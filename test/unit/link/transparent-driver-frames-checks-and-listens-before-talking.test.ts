import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../../hal/mock/clock";
import { MockUart } from "../../../hal/mock/uart";
import { hostNative, latin1 } from "../../../hal/mock/native";
import { MockTransparentModem } from "../../../hal/mock/transparent-modem";
import { transparentModem } from "../../../firmware/link/transparent/driver";
import { crc32 } from "node:zlib";

const E = { LINK_NOT_READY: 46, LINK_FRAME_SIZE: 49 };

function rig(chunk = 0) {
  const clock = new VirtualClock();
  const uart = new MockUart(chunk ? { kind: "fixed", size: chunk } : { kind: "whole" });
  const modem = new MockTransparentModem(clock, uart);
  const ev = { ready: [] as number[], sent: [] as number[], sentAt: [] as number[], rx: [] as number[][] };
  const drv = transparentModem(uart, clock, hostNative, {
    ready: (e) => ev.ready.push(e),
    sent: (e) => { ev.sent.push(e); ev.sentAt.push(clock.now()); },
    received: (d, l) => ev.rx.push([...d.subarray(0, l)]),
  }, { baud: 9600, lineBitRate: 2400, turnaroundMs: 10, maxPayload: 242, attempts: 4, seed: 3 });
  drv.start();
  clock.advance(1);
  return { clock, uart, modem, drv, ev };
}

function frameOf(payload: number[]): Uint8Array {
  const body = Uint8Array.of(payload.length, ...payload);
  const c = crc32(body) >>> 0;
  return Uint8Array.of(0xaa, 0xaa, 0x2d, 0xd4, ...body, c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24);
}

describe("transparent-modem driver", () => {
  it("is ready at once and writes preamble, sync, length, payload and CRC-32", () => {
    const r = rig();
    expect(r.ev.ready).toEqual([0]);
    expect(r.drv.send(Uint8Array.of(1, 2, 3), 3)).toBe(0);
    expect([...r.modem.transmitted[0]]).toEqual([...frameOf([1, 2, 3])]);
  });

  it("reports a send done after its airtime at the line rate plus the turnaround", () => {
    const r = rig();
    r.drv.send(new Uint8Array(100), 100);
    const t0 = r.clock.now();
    r.clock.advance(2000);
    // 109 bytes x 8 bits at 2400 bit/s = 363.3 ms, + 10 ms turnaround
    expect(r.ev.sentAt[0] - t0).toBe(374);
    expect(r.ev.sent).toEqual([0]);
    expect(r.drv.stats.txFrames).toBe(1);
  });

  it("refuses oversize and empty frames, and a second send while one is on the line", () => {
    const r = rig();
    expect(r.drv.send(new Uint8Array(243), 243)).toBe(E.LINK_FRAME_SIZE);
    expect(r.drv.send(new Uint8Array(4), 0)).toBe(E.LINK_FRAME_SIZE);
    expect(r.drv.send(new Uint8Array(4), 4)).toBe(0);
    expect(r.drv.send(new Uint8Array(4), 4)).toBe(E.LINK_NOT_READY);
    expect(r.modem.transmitted.length).toBe(1);
  });

  it("delivers frames byte by byte through noise and drops a corrupted one, counting it", () => {
    const r = rig(1);
    r.modem.noise("\x00\x2d\x13\xff");
    r.modem.fromLine(frameOf([9, 8, 7]), 0, false);
    const bad = frameOf([5, 5]);
    bad[6] ^= 0x10;
    r.modem.fromLine(bad, 0, true);
    r.modem.fromLine(frameOf([6]), 0, false);
    expect(r.ev.rx).toEqual([[9, 8, 7], [6]]);
    expect(r.drv.stats.rxBad).toBe(1);
    expect(r.drv.stats.rxFrames).toBe(2);
  });

  it("waits while another node is talking, and sends once the line is quiet", () => {
    const r = rig();
    r.modem.noise(latin1(frameOf([1]).subarray(0, 5)));
    r.drv.send(Uint8Array.of(42), 1);
    expect(r.modem.transmitted.length).toBe(0);
    expect(r.drv.stats.busy).toBe(1);
    r.clock.advance(200);
    expect(r.modem.transmitted.length).toBe(1);
    r.clock.advance(200);
    expect(r.ev.sent).toEqual([0]);
  });
});
