/*
 * A scripted ST7580 for host tests and the bench: it speaks the host interface on a
 * MockUart (the device's side) and T_REQ/RESETN MockPins, and carries data-link frames
 * over a PowerLine node. The script makes it misbehave on purpose: report busy, NAK,
 * lose its ACKs, ignore the host's ACKs, answer with error frames, stay silent, never
 * confirm, put garbage between its frames, and talk noise (`noise`); it loses its mode
 * when `dataLinkMode` is cleared, as after a reset whose indication never arrived, and
 * answers MIB reads of the modem configuration with the mode it is in. Chunking (one
 * byte at a time and so on) comes from the MockUart.
 *
 * Timing: bytes towards the host take their UART time at the configured baud; the modem
 * answers T_REQ after 1 ms; it repeats an unacknowledged frame to the host with STX 0x03
 * after 40 ms, twice at most; a data request waits for a quiet line (carrier sense, as
 * the real modem's PHY does), then the confirm follows the frame's airtime.
 */
import type { VirtualClock } from "./clock";
import type { MockUart } from "./uart";
import type { MockPin } from "./pins";
import type { LineNode } from "./powerline";
import { encodeFrame, st7580Framer } from "../../firmware/link/st7580/frame";
import { latin1 } from "./native";
import { Rng } from "./rng";

const CMD = {
  RESET_REQ: 0x3c, RESET_CNF: 0x3d, RESET_IND: 0x3e,
  MIB_WRITE_REQ: 0x08, MIB_WRITE_CNF: 0x09, MIB_WRITE_ERR: 0x0b,
  MIB_READ_REQ: 0x0c, MIB_READ_CNF: 0x0d, MIB_READ_ERR: 0x0f,
  DL_DATA_REQ: 0x50, DL_DATA_CNF: 0x51, DL_DATA_IND: 0x52, DL_DATA_ERR: 0x53,
  SYNTAX_ERR: 0x36,
};
const EV = { FRAME: 1, STATUS: 4, BAD_CHECKSUM: 5, ACK: 6, TIMEOUT: 7, GARBAGE: 8, NAK: 0x15 };

export interface St7580Script {
  /** Answer the next n T_REQ with a busy status. */
  busy: number;
  /** NAK the next n frames from the host. */
  nak: number;
  /** Accept the next n frames without sending the ACK (the ACK is "lost"). */
  loseAck: number;
  /** Ignore the next n ACKs from the host, so the modem repeats its frame. */
  ignoreHostAck: number;
  /** Corrupt the checksum of the next n frames sent to the host. */
  corruptToHost: number;
  /** Answer the next n data requests with an error frame. */
  dataError: number;
  /** Refuse MIB writes. */
  mibError: boolean;
  /** Never confirm data requests. */
  noConfirm: boolean;
  /** Ignore T_REQ and frames altogether, and send nothing (a modem that hung). */
  silent: boolean;
  /** Send no reset indication after RESETN. */
  noResetIndication: boolean;
  /** Bytes to put before every frame sent to the host. */
  garbage: string;
}

export const quietScript = (): St7580Script => ({
  busy: 0, nak: 0, loseAck: 0, ignoreHostAck: 0, corruptToHost: 0, dataError: 0,
  mibError: false, noConfirm: false, silent: false, noResetIndication: false, garbage: "",
});

export class MockSt7580 {
  script: St7580Script = quietScript();
  /** Commands the modem accepted from the host, in order. */
  readonly commands: { cmd: number; data: number[] }[] = [];
  /** MIB values written. */
  readonly mib = new Map<number, number[]>();
  /** Payloads it put on the line. */
  readonly transmitted: Uint8Array[] = [];
  dataLinkMode = false;
  framesIgnored = 0;
  private treqLow = false;
  private uartFreeAt = 0;
  private hostFreeAt = 0;
  private announced = false;
  private toHost: { frame: Uint8Array; tries: number }[] = [];
  private awaitingHostAck = false;
  private repeatTimer = 0;
  private readonly framer;
  private readonly byteMs: number;
  private line: LineNode | null = null;
  private readonly rng: Rng;
  private readonly treqWired: boolean;

  constructor(
    private readonly clock: VirtualClock,
    private readonly uart: MockUart,
    treq: MockPin | null,
    resetn: MockPin | null,
    opts: { baud: number; seed?: number },
  ) {
    this.rng = new Rng(opts.seed ?? 1);
    this.treqWired = treq !== null;
    this.byteMs = 10000 / opts.baud;
    this.framer = st7580Framer((ev, cmd, len, arg) => this.onHost(ev, cmd, len, arg));
    // host bytes reach the modem after their UART time; T_REQ is sampled as they start
    uart.onWrite = (s) => {
      const announced = this.treqLow;
      const t = clock.now();
      const start = Math.max(t, this.hostFreeAt);
      this.hostFreeAt = start + s.length * this.byteMs;
      clock.setTimeout(() => { this.announced = announced; this.framer.feed(s, clock.now()); }, this.hostFreeAt - t);
    };
    if (treq) treq.onSet = (high) => this.onTreq(high);
    if (resetn) resetn.onSet = (high) => { if (high) this.powerUp(); else this.powerDown(); };
  }

  /** Wires the modem to a line node; the node's receiver must call fromLine. */
  attachLine(node: LineNode): void { this.line = node; }

  /** A frame arrived from the line. A data-link modem drops frames whose CRC fails. */
  fromLine(bytes: Uint8Array, snr: number, corrupted: boolean): void {
    if (corrupted || !this.dataLinkMode || this.script.silent) return;
    const ind = new Uint8Array(4 + bytes.length);
    ind[0] = 0x18; // modulation / channel / PGA, as in the worked example
    ind[1] = Math.max(0, Math.min(255, Math.round(snr)));
    ind.set(bytes, 4);
    this.queueToHost(CMD.DL_DATA_IND, ind);
  }

  /** Power-on: the reset indication after a short start-up. */
  powerUp(): void {
    this.dataLinkMode = false;
    if (this.script.noResetIndication) return;
    this.clock.setTimeout(() => this.queueToHost(CMD.RESET_IND, new Uint8Array(0)), 50);
  }

  private powerDown(): void {
    this.toHost = [];
    this.awaitingHostAck = false;
    if (this.repeatTimer) this.clock.clear(this.repeatTimer);
    this.repeatTimer = 0;
  }

  /** Bytes to the host, after the ones already on their way, at UART speed. */
  private toUart(bytes: string): void {
    const t = this.clock.now();
    const start = Math.max(t, this.uartFreeAt);
    this.uartFreeAt = start + bytes.length * this.byteMs;
    this.clock.setTimeout(() => { if (!this.script.silent) this.uart.inject(bytes); }, this.uartFreeAt - t);
  }

  private onTreq(high: boolean): void {
    this.treqLow = !high;
    if (high || this.script.silent) return;
    const busy = this.script.busy > 0;
    if (busy) this.script.busy--;
    this.clock.setTimeout(() => this.toUart(String.fromCharCode(0x3f, busy ? 0x06 : 0x00)), 1);
  }

  /** Rubbish towards the host at UART speed (a modem talking at another baud rate, a floating line). */
  noise(s: string): void { this.toUart(s); }

  private onHost(ev: number, cmd: number, len: number, arg: number): void {
    if (this.script.silent) return;
    if (ev === EV.ACK || ev === EV.NAK) {
      if (!this.awaitingHostAck) return;
      if (ev === EV.ACK && this.script.ignoreHostAck > 0) { this.script.ignoreHostAck--; return; }
      if (ev === EV.ACK) { this.awaitingHostAck = false; this.toHost.shift(); if (this.repeatTimer) this.clock.clear(this.repeatTimer); this.repeatTimer = 0; this.pump(); }
      else this.resendSoon(0);
      return;
    }
    if (ev === EV.BAD_CHECKSUM) { this.toUart("\x15"); return; }
    if (ev !== EV.FRAME) return;
    // with T_REQ wired, the modem only listens to a frame the handshake announced
    if (this.treqWired && !this.announced) { this.framesIgnored++; return; }
    const data = [...this.framer.data.subarray(arg, arg + len)];
    // a frame takes its UART time to arrive; the modem answers after it
    if (this.script.nak > 0) { this.script.nak--; this.toUart("\x15"); return; }
    if (this.script.loseAck > 0) this.script.loseAck--;
    else this.toUart("\x06");
    this.commands.push({ cmd, data });
    this.execute(cmd, data);
  }

  private execute(cmd: number, data: number[]): void {
    switch (cmd) {
      case CMD.RESET_REQ:
        this.dataLinkMode = false;
        this.queueToHost(CMD.RESET_CNF, new Uint8Array(0));
        return;
      case CMD.MIB_WRITE_REQ:
        if (this.script.mibError || data.length < 2) { this.queueToHost(CMD.MIB_WRITE_ERR, Uint8Array.of(0x02)); return; }
        this.mib.set(data[0], data.slice(1));
        if (data[0] === 0x00) this.dataLinkMode = data[1] === 0x11;
        this.queueToHost(CMD.MIB_WRITE_CNF, new Uint8Array(0));
        return;
      case CMD.MIB_READ_REQ: {
        // the modem configuration reads as the mode it is in (0x00 after a reset: PHY)
        const v = data[0] === 0x00 ? [this.dataLinkMode ? 0x11 : 0x00] : this.mib.get(data[0]);
        if (data.length !== 1 || !v) { this.queueToHost(CMD.MIB_READ_ERR, Uint8Array.of(0x03)); return; }
        this.queueToHost(CMD.MIB_READ_CNF, Uint8Array.from(v));
        return;
      }
      case CMD.DL_DATA_REQ: {
        if (!this.dataLinkMode || this.script.dataError > 0 || data.length < 2 || data.length > 243) {
          if (this.script.dataError > 0) this.script.dataError--;
          this.queueToHost(CMD.DL_DATA_ERR, Uint8Array.of(0x01));
          return;
        }
        const payload = Uint8Array.from(data.slice(1));
        const go = () => {
          // carrier sense with a random backoff, so two waiting modems rarely restart together
          if (this.line && this.line.lineBusy()) { this.clock.setTimeout(go, 2 + this.rng.int(20)); return; }
          this.transmitted.push(payload);
          const air = this.line ? this.line.transmit(payload) : (payload.length * 8 * 1000) / 9600;
          if (!this.script.noConfirm) this.clock.setTimeout(() => this.queueToHost(CMD.DL_DATA_CNF, Uint8Array.of(0x54, 0x54, 0x00, 0xf2, 0x9e)), air);
        };
        go();
        return;
      }
      default:
        this.queueToHost(CMD.SYNTAX_ERR, Uint8Array.of(cmd));
    }
  }

  private queueToHost(cmd: number, data: Uint8Array): void {
    const out = new Uint8Array(data.length + 5);
    encodeFrame(cmd, data, out);
    this.toHost.push({ frame: out, tries: 0 });
    this.pump();
  }

  private pump(): void {
    if (this.awaitingHostAck || !this.toHost.length) return;
    const f = this.toHost[0];
    const bytes = f.frame.slice();
    if (f.tries > 0) bytes[0] = 0x03;
    if (this.script.corruptToHost > 0) { this.script.corruptToHost--; bytes[bytes.length - 1] ^= 0x5a; }
    f.tries++;
    this.awaitingHostAck = true;
    this.toUart(this.script.garbage + latin1(bytes));
    this.resendSoon(40 + bytes.length * this.byteMs);
  }

  private resendSoon(ms: number): void {
    if (this.repeatTimer) this.clock.clear(this.repeatTimer);
    this.repeatTimer = this.clock.setTimeout(() => {
      this.repeatTimer = 0;
      this.awaitingHostAck = false;
      if (this.toHost.length && this.toHost[0].tries >= 3) this.toHost.shift();
      this.pump();
    }, ms);
  }
}
