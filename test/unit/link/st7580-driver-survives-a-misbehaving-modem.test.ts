import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../../hal/mock/clock";
import { MockUart, type Chunking } from "../../../hal/mock/uart";
import { MockPin } from "../../../hal/mock/pins";
import { hostNative } from "../../../hal/mock/native";
import { MockSt7580 } from "../../../hal/mock/st7580-modem";
import { st7580Modem } from "../../../firmware/link/st7580/driver";

const E = { LINK_BUSY: 40, LINK_NAK: 41, LINK_NO_ACK: 42, LINK_NO_CONFIRM: 43, LINK_NO_STATUS: 44, LINK_TX_ERROR: 45, LINK_NOT_READY: 46, LINK_RESET_TIMEOUT: 47, LINK_MIB_FAILED: 48, LINK_FRAME_SIZE: 49 };
const hex = (s: string) => s.split(" ").map((x) => parseInt(x, 16));
const bytes = (s: string) => [...s].map((c) => c.charCodeAt(0));

function rig(o: { resetn?: boolean; treq?: boolean; chunking?: Chunking } = {}) {
  const clock = new VirtualClock();
  const uart = new MockUart(o.chunking ?? { kind: "whole" });
  const treq = o.treq === false ? null : new MockPin();
  const resetn = o.resetn === false ? null : new MockPin();
  const modem = new MockSt7580(clock, uart, treq, resetn, { baud: 57600 });
  const ev = { ready: [] as number[], sent: [] as number[], rx: [] as { data: number[]; q: number }[] };
  const drv = st7580Modem(uart, treq, resetn, clock, hostNative, {
    ready: (e) => ev.ready.push(e),
    sent: (e) => ev.sent.push(e),
    received: (d, l, q) => ev.rx.push({ data: [...d.subarray(0, l)], q }),
  }, { baud: 57600, txOption: 0x04, attempts: 3 });
  const started = () => { drv.start(); clock.advance(3000); expect(ev.ready).toEqual([0]); uart.clearWrites(); };
  return { clock, uart, treq, resetn, modem, drv, ev, started };
}

describe("ST7580 driver", () => {
  it("resets through RESETN for 1.5 s, waits for the indication and selects data-link mode by MIB write", () => {
    const r = rig();
    r.drv.start();
    expect(r.resetn!.levels).toEqual([false]);
    r.clock.advance(1499);
    expect(r.resetn!.levels).toEqual([false]);
    r.clock.advance(1);
    expect(r.resetn!.levels).toEqual([false, true]);
    expect(r.drv.busy()).toBe(true);
    r.clock.advance(500);
    expect(r.ev.ready).toEqual([0]);
    expect(r.modem.dataLinkMode).toBe(true);
    // the host ACKs the indication, then sends MIB write 0x00 := 0x11 (sum 0x02+0x08+0x00+0x11 = 0x1B)
    expect(bytes(r.uart.written())).toEqual([0x06, ...hex("02 02 08 00 11 1B 00"), 0x06]);
    expect(r.treq!.levels.slice(0, 3)).toEqual([true, false, true]);
    expect(r.drv.busy()).toBe(false);
  });

  it("without RESETN, sends the reset request 02 00 3C 3C 00 and configures after its confirm", () => {
    const r = rig({ resetn: false });
    r.drv.start();
    r.clock.advance(1000);
    expect(r.ev.ready).toEqual([0]);
    expect(r.modem.commands.map((c) => c.cmd)).toEqual([0x3c, 0x08]);
    expect(bytes(r.uart.written()).slice(0, 5)).toEqual(hex("02 00 3C 3C 00"));
  });

  it("sends a data request as the worked example, after the T_REQ handshake, and reports it sent", () => {
    const r = rig();
    r.started();
    const levels = r.treq!.levels.length;
    expect(r.drv.send(Uint8Array.of(0xab), 1)).toBe(0);
    expect(r.treq!.level).toBe(false); // waiting for the status message
    expect(r.uart.written()).toBe("");
    r.clock.advance(2);
    expect(bytes(r.uart.written())).toEqual(hex("02 02 50 04 AB 01 01"));
    expect(r.treq!.levels.slice(levels)).toEqual([false, true]);
    r.clock.advance(100);
    expect(r.ev.sent).toEqual([0]);
    expect(r.modem.transmitted.map((t) => [...t])).toEqual([[0xab]]);
    expect(r.drv.stats).toMatchObject({ txFrames: 1, retries: 0, naks: 0 });
  });

  it("retries after NAKs and busy status, and gives up with the right code when they persist", () => {
    const r = rig();
    r.started();
    r.modem.script.nak = 1;
    r.modem.script.busy = 1;
    r.drv.send(Uint8Array.of(1, 2, 3), 3);
    r.clock.advance(500);
    expect(r.ev.sent).toEqual([0]);
    expect(r.drv.stats).toMatchObject({ busy: 1, naks: 1, retries: 2, txFrames: 1 });
    r.modem.script.busy = 3;
    r.drv.send(Uint8Array.of(4), 1);
    r.clock.advance(500);
    r.modem.script.nak = 3;
    r.drv.send(Uint8Array.of(5), 1);
    r.clock.advance(500);
    expect(r.ev.sent).toEqual([0, E.LINK_BUSY, E.LINK_NAK]);
    expect(r.drv.stats.txFailed).toBe(2);
    expect(r.modem.transmitted.length).toBe(1);
  });

  it("takes the confirm when the modem's ACK was lost, and times out when the modem stays silent", () => {
    const r = rig();
    r.started();
    r.modem.script.loseAck = 1;
    r.drv.send(Uint8Array.of(9), 1);
    r.clock.advance(500);
    expect(r.ev.sent).toEqual([0]);
    expect(r.modem.transmitted.length).toBe(1);
    r.modem.script.silent = true;
    r.drv.send(Uint8Array.of(9), 1);
    r.clock.advance(199);
    expect(r.ev.sent).toEqual([0]);
    r.clock.advance(2000);
    expect(r.ev.sent).toEqual([0, E.LINK_NO_STATUS]);
    expect(r.drv.stats.timeouts).toBe(3);
  });

  it("reports an error frame and a missing confirm, each after its own timeout", () => {
    const r = rig();
    r.started();
    r.modem.script.dataError = 1;
    r.drv.send(Uint8Array.of(1), 1);
    r.clock.advance(100);
    r.modem.script.noConfirm = true;
    r.drv.send(Uint8Array.of(2), 1);
    r.clock.advance(3999);
    expect(r.ev.sent).toEqual([E.LINK_TX_ERROR]);
    r.clock.advance(100);
    expect(r.ev.sent).toEqual([E.LINK_TX_ERROR, E.LINK_NO_CONFIRM]);
  });

  it("refuses a second send while one is outstanding, and frames that are empty or too long", () => {
    const r = rig();
    expect(r.drv.send(Uint8Array.of(1), 1)).toBe(E.LINK_NOT_READY);
    r.started();
    expect(r.drv.send(new Uint8Array(243), 243)).toBe(E.LINK_FRAME_SIZE);
    expect(r.drv.send(new Uint8Array(1), 0)).toBe(E.LINK_FRAME_SIZE);
    expect(r.drv.send(new Uint8Array(242), 242)).toBe(0);
    expect(r.drv.send(Uint8Array.of(1), 1)).toBe(E.LINK_NOT_READY);
    r.clock.advance(500);
    expect(r.ev.sent).toEqual([0]);
    expect(r.modem.transmitted[0].length).toBe(242);
  });

  it("delivers indications byte by byte through garbage, with the SNR as quality, ACKing each", () => {
    const r = rig({ chunking: { kind: "fixed", size: 1 } });
    r.started();
    r.modem.script.garbage = "\xee\x00\x99";
    r.modem.fromLine(Uint8Array.of(1, 2, 3), 17, false);
    r.modem.fromLine(Uint8Array.of(4, 5), 23, false);
    r.clock.advance(200);
    expect(r.ev.rx).toEqual([{ data: [1, 2, 3], q: 17 }, { data: [4, 5], q: 23 }]);
    expect(r.uart.written()).toBe("\x06\x06");
    expect(r.drv.stats.rxGarbage).toBe(6);
    expect(r.drv.stats.rxFrames).toBe(2);
  });

  it("delivers the worked DL_DataIndication 02 05 52 18 19 0D 5C AB 9C 01 as payload AB with SNR 0x19", () => {
    const r = rig({ chunking: { kind: "fixed", size: 1 } });
    r.started();
    r.uart.inject(Uint8Array.from(hex("02 05 52 18 19 0D 5C AB 9C 01")));
    expect(r.ev.rx).toEqual([{ data: [0xab], q: 0x19 }]);
    expect(r.uart.written()).toBe("\x06");
  });

  it("NAKs a bad checksum and takes the repeat; delivers a repeat sent for a lost host ACK only once", () => {
    const r = rig();
    r.started();
    r.modem.script.corruptToHost = 1;
    r.modem.fromLine(Uint8Array.of(7), 20, false);
    r.clock.advance(200);
    expect(r.ev.rx.map((x) => x.data)).toEqual([[7]]);
    expect(r.uart.written()).toBe("\x15\x06");
    expect(r.drv.stats.rxBad).toBe(1);
    r.modem.script.ignoreHostAck = 1;
    r.modem.fromLine(Uint8Array.of(8), 20, false);
    r.clock.advance(200);
    expect(r.ev.rx.map((x) => x.data)).toEqual([[7], [8]]);
    expect(r.uart.written()).toBe("\x15\x06\x06\x06"); // the repeat is ACKed too
  });

  it("after a spontaneous modem reset, fails the outstanding send, reconfigures and is ready again", () => {
    const r = rig();
    r.started();
    r.modem.script.noConfirm = true;
    r.drv.send(Uint8Array.of(1), 1);
    r.clock.advance(100);
    r.modem.powerUp();
    r.clock.advance(500);
    expect(r.ev.sent).toEqual([E.LINK_NOT_READY]);
    expect(r.ev.ready).toEqual([0, 0]);
    expect(r.drv.stats.resets).toBe(2);
    expect(r.modem.commands.filter((c) => c.cmd === 0x08).length).toBe(2);
  });

  it("reports a missing reset indication and a refused MIB write", () => {
    const a = rig();
    a.modem.script.noResetIndication = true;
    a.drv.start();
    a.clock.advance(4499);
    expect(a.ev.ready).toEqual([]);
    a.clock.advance(1);
    expect(a.ev.ready).toEqual([E.LINK_RESET_TIMEOUT]);
    const b = rig();
    b.modem.script.mibError = true;
    b.drv.start();
    b.clock.advance(3000);
    expect(b.ev.ready).toEqual([E.LINK_MIB_FAILED]);
    expect(b.drv.send(Uint8Array.of(1), 1)).toBe(E.LINK_NOT_READY);
  });

  it("without a T_REQ line, writes the frame at once and still waits for ACK and confirm", () => {
    const r = rig({ treq: false });
    r.started();
    expect(r.drv.send(Uint8Array.of(0xab), 1)).toBe(0);
    expect(bytes(r.uart.written())).toEqual(hex("02 02 50 04 AB 01 01"));
    expect(r.drv.send(Uint8Array.of(1), 1)).toBe(E.LINK_NOT_READY); // the first is still outstanding
    r.clock.advance(100);
    expect(r.ev.sent).toEqual([0]);
    r.modem.script.nak = 1;
    r.drv.send(Uint8Array.of(2), 1);
    r.clock.advance(200);
    expect(r.ev.sent).toEqual([0, 0]);
    expect(r.drv.stats.naks).toBe(1);
    expect(r.modem.transmitted.map((t) => t[0])).toEqual([0xab, 2]);
  });

  it("never sends a frame the modem did not announce with T_REQ", () => {
    const r = rig({ chunking: { kind: "random", max: 4, seed: 5 } });
    r.started();
    for (let i = 0; i < 20; i++) { r.drv.send(Uint8Array.of(i), 1); r.clock.advance(100); }
    expect(r.modem.framesIgnored).toBe(0);
    expect(r.modem.transmitted.map((t) => t[0])).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});
