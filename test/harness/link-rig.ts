/*
 * Nodes on a simulated power line, each a firmware endpoint over a firmware modem driver
 * over a mock modem: the same modules a board runs, with the HAL mocked. Tests and the
 * bench build networks from these.
 */
import { VirtualClock } from "../../hal/mock/clock";
import { MockUart, type Chunking } from "../../hal/mock/uart";
import { MockPin } from "../../hal/mock/pins";
import { hostNative } from "../../hal/mock/native";
import { PowerLine, type LineOptions } from "../../hal/mock/powerline";
import { MockSt7580 } from "../../hal/mock/st7580-modem";
import { MockTransparentModem } from "../../hal/mock/transparent-modem";
import { st7580Modem } from "../../firmware/link/st7580/driver";
import { transparentModem } from "../../firmware/link/transparent/driver";
import { endpoint, type Endpoint } from "../../firmware/link/endpoint";
import type { Modem } from "../../firmware/link/modem";
import type { Msg } from "../../firmware/protocol/codec";

export type ModemKind = "st7580" | "transparent";

/** Line settings typical of each modem: ST7580 B-FSK at 9600 bit/s with its PHY overhead; ST7540 at 2400 baud. */
export function lineFor(kind: ModemKind, seed: number, extra: Partial<LineOptions> = {}): LineOptions {
  return kind === "st7580"
    ? { bitRate: 9600, overheadBytes: 16, turnaroundMs: 5, seed, ...extra }
    : { bitRate: 2400, overheadBytes: 0, turnaroundMs: 10, seed, ...extra };
}

export interface RigNode {
  name: string;
  id: number;
  ep: Endpoint;
  modem: Modem;
  inbox: { msg: Msg; quality: number }[];
  readyCodes: number[];
  groups: number[];
}

/** Deep copy of a decoded message (decoded views point into driver buffers). */
export function copyMsg(m: Msg): Msg {
  const conv = (v: unknown): unknown =>
    v instanceof Uint8Array ? v.slice() : Array.isArray(v) ? v.map(conv) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([a, b]) => [a, conv(b)])) : v;
  return { ...m, body: conv(m.body), mac: m.mac ? m.mac.slice() : null };
}

export class LinkRig {
  readonly clock = new VirtualClock();
  readonly line: PowerLine;
  readonly nodes: RigNode[] = [];

  constructor(readonly kind: ModemKind, lineOpts: LineOptions, private readonly chunking: Chunking = { kind: "random", max: 8, seed: 11 }) {
    this.line = new PowerLine(this.clock, lineOpts);
  }

  add(name: string, id: number, onMessage?: (n: RigNode, m: Msg) => void): RigNode {
    const uart = new MockUart(this.chunking);
    const node = { name, id, inbox: [], readyCodes: [], groups: [] } as unknown as RigNode;
    node.ep = endpoint(id, 4, {
      message: (m, q) => { const c = copyMsg(m); node.inbox.push({ msg: c, quality: q }); onMessage?.(node, c); },
      ready: (e) => node.readyCodes.push(e),
      inGroup: (g) => node.groups.includes(g),
    });
    if (this.kind === "st7580") {
      const treq = new MockPin(), resetn = new MockPin();
      const mock = new MockSt7580(this.clock, uart, treq, resetn, { baud: 57600, seed: id });
      const ln = this.line.attach(name, (b, snr, bad) => mock.fromLine(b, snr, bad));
      mock.attachLine(ln);
      node.modem = st7580Modem(uart, treq, resetn, this.clock, hostNative, node.ep.events, { baud: 57600, txOption: 0x04, attempts: 3 });
    } else {
      const mock = new MockTransparentModem(this.clock, uart);
      const ln = this.line.attach(name, (b, snr, bad) => mock.fromLine(b, snr, bad));
      mock.attachLine(ln);
      node.modem = transparentModem(uart, this.clock, hostNative, node.ep.events, { baud: 9600, lineBitRate: this.line.opts.bitRate, turnaroundMs: 10, maxPayload: 242, attempts: 4, seed: id });
    }
    node.ep.attach(node.modem);
    this.nodes.push(node);
    return node;
  }

  /** Starts every modem and runs until they are ready. */
  start(): void {
    for (const n of this.nodes) n.modem.start();
    this.clock.advance(3000);
    for (const n of this.nodes) if (n.readyCodes[n.readyCodes.length - 1] !== 0) throw new Error(`node ${n.name} not ready: ${n.readyCodes}`);
  }
}
