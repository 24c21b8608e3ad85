/*
 * A simulated power line: one shared half-duplex medium joining any number of nodes
 * (each a mock modem). Host only: used by tests and the bench.
 *
 * - Airtime of a frame = (overheadBytes + length) x 8 / bitRate; it is delivered at the end.
 * - Two transmissions that overlap in time collide: nobody receives either.
 * - A node hears nothing while it transmits, nor within turnaroundMs after it stopped.
 * - Receivers get the frame for the duration of the call: they copy what they keep and
 *   never write into it.
 * - Per directed link: independent loss probability, Gilbert-Elliott burst loss (a
 *   two-state chain stepped once per frame), a bit error rate (flipped bits are
 *   delivered; the receiving modem's check decides), and an SNR reported with the frame.
 * - A seeded generator drives every random choice, so a seed reproduces a run exactly.
 * - Counters per node: frames, bytes and airtime sent; frames received, lost, corrupted,
 *   collided and missed while busy.
 */
import type { VirtualClock } from "./clock";
import { Rng } from "./rng";

export interface GilbertElliott {
  /** Per-frame probability of moving good -> bad and bad -> good. */
  pGoodToBad: number;
  pBadToGood: number;
  /** Loss probability in each state. */
  lossGood: number;
  lossBad: number;
}

export interface LinkModel {
  loss?: number;
  ge?: GilbertElliott;
  /** Probability that each bit is flipped. */
  ber?: number;
  snr?: number;
}

export interface LineOptions {
  bitRate: number;
  /** Bytes each frame costs on the line besides its payload (preamble, PHY header, CRC). */
  overheadBytes: number;
  turnaroundMs: number;
  seed: number;
  /** Link model for every pair not set with link(). */
  defaults?: LinkModel;
  /** Keep every transmission in `PowerLine.log` (tests that assert on the frames on the line). */
  log?: boolean;
  /**
   * The one node that can accept a frame (the name of its unicast destination), or null
   * for everyone. Large simulations set it so a frame addressed to one meter is not handed
   * to thousands that would drop it at their address filter; collisions, half duplex and
   * the sender's counters are unchanged, only the skipped nodes' receive counters differ.
   */
  route?: (bytes: Uint8Array) => string | null;
}

export interface LoggedFrame { from: string; at: number; bytes: Uint8Array; collided: boolean }

export interface NodeCounters {
  txFrames: number;
  txBytes: number;
  airtimeMs: number;
  rxFrames: number;
  rxLost: number;
  rxCorrupted: number;
  rxCollided: number;
  rxMissedBusy: number;
}

export type Receiver = (bytes: Uint8Array, snr: number, corrupted: boolean) => void;

interface Tx { from: LineNode; bytes: Uint8Array; start: number; end: number; collided: boolean }

export class LineNode {
  readonly counters: NodeCounters = { txFrames: 0, txBytes: 0, airtimeMs: 0, rxFrames: 0, rxLost: 0, rxCorrupted: 0, rxCollided: 0, rxMissedBusy: 0 };
  /** Intervals this node spent transmitting (recent ones), for half-duplex checks. */
  lastTxStart = -Infinity;
  lastTxEnd = -Infinity;
  detached = false;
  constructor(readonly name: string, private readonly line: PowerLine, readonly receive: Receiver) {}

  /** Puts a frame on the line now; returns its airtime in ms. */
  transmit(bytes: Uint8Array): number { return this.detached ? 0 : this.line.transmit(this, bytes); }
  /** Carrier sense: true while anyone's transmission is on the line. */
  lineBusy(): boolean { return this.line.busy(); }
  /** True while this node's own transmission is on the line. */
  transmitting(): boolean { return this.line.now() < this.lastTxEnd; }
}

export class PowerLine {
  readonly rng: Rng;
  private readonly nodes: LineNode[] = [];
  private readonly byName = new Map<string, LineNode>();
  private readonly links = new Map<string, LinkModel>();
  private readonly geBad = new Map<string, boolean>();
  private active: Tx[] = [];
  /** Every transmission, when opts.log is set. */
  readonly log: LoggedFrame[] = [];
  /** Everything put on the line since it was made, whoever sent it (detached nodes included). */
  readonly totals = { frames: 0, bytes: 0, airtimeMs: 0 };

  constructor(private readonly clock: VirtualClock, readonly opts: LineOptions) {
    if (!(opts.bitRate > 0)) throw new Error(`bitRate must be positive, got ${opts.bitRate}`);
    this.rng = new Rng(opts.seed);
  }

  now(): number { return this.clock.now(); }

  /** Takes a node off the line (its device lost power): it neither sends nor hears. */
  detach(node: LineNode): void {
    const i = this.nodes.indexOf(node);
    if (i >= 0) this.nodes.splice(i, 1);
    if (this.byName.get(node.name) === node) this.byName.delete(node.name);
    node.detached = true;
  }

  attach(name: string, receive: Receiver): LineNode {
    if (this.byName.has(name)) throw new Error(`a node named ${name} is already on the line`);
    const n = new LineNode(name, this, receive);
    this.nodes.push(n);
    this.byName.set(name, n);
    return n;
  }

  node(name: string): LineNode {
    const n = this.byName.get(name);
    if (!n) throw new Error(`no node named ${name}`);
    return n;
  }

  /** Sets the model of the link from -> to (and to -> from unless oneWay). */
  link(from: string, to: string, model: LinkModel, oneWay = false): void {
    this.links.set(`${from}>${to}`, model);
    if (!oneWay) this.links.set(`${to}>${from}`, model);
  }

  airtimeMs(len: number): number {
    return ((this.opts.overheadBytes + len) * 8 * 1000) / this.opts.bitRate;
  }

  /** True while any transmission is on the line (what a modem's carrier sense sees). */
  busy(): boolean {
    const t = this.now();
    return this.active.some((x) => x.end > t);
  }

  transmit(from: LineNode, bytes: Uint8Array): number {
    const t = this.now();
    const air = this.airtimeMs(bytes.length);
    const tx: Tx = { from, bytes: bytes.slice(), start: t, end: t + air, collided: false };
    this.active = this.active.filter((x) => x.end > t);
    for (const x of this.active) { x.collided = true; tx.collided = true; }
    this.active.push(tx);
    if (this.opts.log) this.log.push({ from: from.name, at: t, bytes: tx.bytes, collided: false });
    this.totals.frames++;
    this.totals.bytes += bytes.length;
    this.totals.airtimeMs += air;
    from.counters.txFrames++;
    from.counters.txBytes += bytes.length;
    from.counters.airtimeMs += air;
    from.lastTxStart = t;
    from.lastTxEnd = t + air;
    this.clock.setTimeout(() => this.deliver(tx), air);
    return air;
  }

  private readonly none: LinkModel = {};

  private model(from: string, to: string): LinkModel {
    if (this.links.size) { const m = this.links.get(`${from}>${to}`); if (m) return m; }
    return this.opts.defaults ?? this.none;
  }

  private deliver(tx: Tx): void {
    if (this.opts.log && tx.collided) { const e = this.log.find((x) => x.bytes === tx.bytes); if (e) e.collided = true; }
    const only = this.opts.route ? this.opts.route(tx.bytes) : null;
    const to = only === null ? this.nodes : this.byName.has(only) ? [this.byName.get(only)!] : [];
    for (const rx of to) {
      if (rx === tx.from) continue;
      const c = rx.counters;
      if (tx.collided) { c.rxCollided++; continue; }
      // half duplex: rx was sending during the frame or turning around into it
      if (rx.lastTxEnd + this.opts.turnaroundMs > tx.start && rx.lastTxStart < tx.end) { c.rxMissedBusy++; continue; }
      const m = this.model(tx.from.name, rx.name);
      let lost = this.rng.chance(m.loss ?? 0);
      if (m.ge) {
        const key = `${tx.from.name}>${rx.name}`;
        let bad = this.geBad.get(key) ?? false;
        bad = bad ? !this.rng.chance(m.ge.pBadToGood) : this.rng.chance(m.ge.pGoodToBad);
        this.geBad.set(key, bad);
        if (this.rng.chance(bad ? m.ge.lossBad : m.ge.lossGood)) lost = true;
      }
      if (lost) { c.rxLost++; continue; }
      // receivers copy what they keep and never write into a frame, so an intact frame is shared
      let bytes = tx.bytes;
      let flipped = 0;
      const ber = m.ber ?? 0;
      if (ber > 0) {
        bytes = tx.bytes.slice();
        // geometric skips between flipped bits: exact for independent bit errors, fast
        let bit = Math.floor(Math.log(1 - this.rng.next()) / Math.log(1 - ber));
        while (bit < bytes.length * 8) {
          bytes[bit >> 3] ^= 1 << (bit & 7);
          flipped++;
          bit += 1 + Math.floor(Math.log(1 - this.rng.next()) / Math.log(1 - ber));
        }
      }
      if (flipped) c.rxCorrupted++;
      else c.rxFrames++;
      rx.receive(bytes, m.snr ?? 30, flipped > 0);
    }
  }
}
