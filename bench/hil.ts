/*
 * Hardware in the loop: a real board running our bundle joins a simulated line. Its modem
 * UART is wired to the host (a USB serial adapter, a pseudo-terminal, or tcp://host:port
 * for a board behind a serial server or the Linux build's port), and the host plays its
 * modem: the same mock ST7580 or transparent modem the simulated nodes have, on the same
 * line with the same loss model. Time then runs at wall-clock speed. Host code.
 *
 * The ST7580's T_REQ and RESETN are pins, which a serial link does not carry: a real
 * board in the loop runs with them unwired (the driver then sends without the T_REQ
 * handshake and resets the modem with a reset request), as the LINUX profile does.
 */
import { openSync, constants } from "node:fs";
import { ReadStream, WriteStream } from "node:tty";
import { connect } from "node:net";
import { MockUart } from "../hal/mock/uart";
import type { LineNode } from "../hal/mock/powerline";
import { modemOnLine, type LinkRig } from "./rig";

/** A port that cannot be opened. */
export class HilError extends Error {}

export interface Port {
  write(b: Uint8Array): void;
  onData(fn: (b: Uint8Array) => void): void;
  close(): void;
  /** Bytes each way, for the summary. */
  counts: { rx: number; tx: number };
}

/** Opens a serial device path (raw mode) or tcp://host:port. */
export function openPort(where: string): Promise<Port> {
  const counts = { rx: 0, tx: 0 };
  const tcp = /^tcp:\/\/([^:/]+):(\d+)$/.exec(where);
  if (tcp) {
    return new Promise((resolve, reject) => {
      const s = connect(Number(tcp[2]), tcp[1]);
      s.once("error", (e) => reject(new HilError(`${where}: ${e.message}`)));
      s.once("connect", () => {
        s.setNoDelay(true);
        resolve({ counts, write: (b) => { counts.tx += b.length; s.write(b); }, onData: (fn) => s.on("data", (d) => { counts.rx += d.length; fn(d); }), close: () => s.destroy() });
      });
    });
  }
  return new Promise((resolve, reject) => {
    let fd: number;
    try { fd = openSync(where, constants.O_RDWR | constants.O_NOCTTY); } catch (e) { reject(new HilError(`${where}: cannot open it (${(e as NodeJS.ErrnoException).code ?? e})`)); return; }
    let r: ReadStream, w: WriteStream;
    try {
      r = new ReadStream(fd);
      r.setRawMode(true);
      w = new WriteStream(fd);
    } catch (e) { reject(new HilError(`${where}: not a serial device (${(e as Error).message})`)); return; }
    resolve({ counts, write: (b) => { counts.tx += b.length; w.write(b); }, onData: (fn) => r.on("data", (d: Buffer) => { counts.rx += d.length; fn(d); }), close: () => { r.destroy(); w.destroy(); } });
  });
}

/** Puts the board behind `port` on the rig's line as node `name`: the host plays its modem. */
export function bridgeBoard(rig: LinkRig, name: string, port: Port, seed: number): LineNode {
  const uart = new MockUart({ kind: "whole" });
  uart.setup(57600);
  // what the modem sends to the board goes out of the port; what the board writes comes in
  uart.onData((s) => port.write(Buffer.from(s, "latin1")));
  port.onData((b) => uart.write(Buffer.from(b).toString("latin1")));
  // no T_REQ or RESETN across a serial link; the board's power is not ours to cut
  return modemOnLine(rig, name, rig.clock.scope(), uart, null, null, seed);
}
