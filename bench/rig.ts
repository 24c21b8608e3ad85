/*
 * Nodes on a simulated power line, each a firmware endpoint over a firmware modem driver
 * over a mock modem: the same modules a board runs, with the HAL mocked. Tests and the
 * bench build networks from these.
 */
import { MockStorage } from "../hal/mock/storage";
import { VirtualClock } from "../hal/mock/clock";
import { MockUart, type Chunking } from "../hal/mock/uart";
import { MockPin } from "../hal/mock/pins";
import { hostNative } from "../hal/host/native";
import { PowerLine, type LineOptions } from "../hal/mock/powerline";
import { MockSt7580 } from "../hal/mock/st7580-modem";
import { MockTransparentModem } from "../hal/mock/transparent-modem";
import { st7580Modem } from "../firmware/link/st7580/driver";
import { transparentModem } from "../firmware/link/transparent/driver";
import { endpoint, type Endpoint, type LinkAuth } from "../firmware/link/endpoint";
import type { Modem } from "../firmware/link/modem";
import type { Msg } from "../firmware/protocol/codec";
import { MockFlash } from "../hal/mock/flash";
import { MockPulseInput, MockSwitch, MockSystem, MockWatchdog } from "../hal/mock/pins";
import type { ClockScope } from "../hal/mock/clock";
import type { Hal } from "../hal/types";
import type { LineNode } from "../hal/mock/powerline";
import { loadProfile, meterDecoder, type BoardProfile } from "../tools/profiles/profiles";
import { encodeAppHeader } from "../firmware/common/image";
import { startMeter, type Meter } from "../firmware/meter/meter";
import { watchTamper } from "../firmware/meter/tamper";
import { st7580Factory, transparentFactory } from "../firmware/link/factory";
import { install } from "../firmware/boot/install";
import { startConcentrator, type ConcentratorContext, type ConcentratorKeys } from "../firmware/concentrator/concentrator";
import { keyedAuthoriser } from "../firmware/meter/authorise";
import type { DeviceConfig } from "../firmware/common/config";

export type ModemKind = "st7580" | "transparent";

/** Line settings typical of each modem: ST7580 B-PSK at 9600 bit/s with its PHY overhead; ST7540 at 2400 baud. */
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
  /** Meter nodes by id: the latest start of each. */
  readonly meters = new Map<number, MeterNode>();

  constructor(readonly kind: ModemKind, lineOpts: LineOptions, private readonly chunking: Chunking = { kind: "random", max: 8, seed: 11 }) {
    this.line = new PowerLine(this.clock, lineOpts);
  }

  add(name: string, id: number, onMessage?: (n: RigNode, m: Msg) => void, auth?: LinkAuth): RigNode {
    const uart = new MockUart(this.chunking);
    const node = { name, id, inbox: [], readyCodes: [], groups: [] } as unknown as RigNode;
    node.ep = endpoint(id, 4, {
      message: (m, q) => { const c = copyMsg(m); node.inbox.push({ msg: c, quality: q }); onMessage?.(node, c); },
      ready: (e) => node.readyCodes.push(e),
      inGroup: (g) => node.groups.includes(g),
      auth,
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

// ---- meters: the real meter program on mocked hardware, on the same line ----

/** The firmware's driver factory for the rig's modem kind. */
export function modemFactory(rig: LinkRig) {
  return rig.kind === "st7580" ? st7580Factory(57600) : transparentFactory(9600, rig.line.opts.bitRate);
}

/** A mock modem of the rig's kind between a device UART and the line; it hears nothing once `clock` is dead (power off). */
export function modemOnLine(rig: LinkRig, name: string, clock: ClockScope, uart: MockUart, treq: MockPin | null, resetn: MockPin | null, seed: number): LineNode {
  const mock = rig.kind === "st7580" ? new MockSt7580(rig.clock, uart, treq, resetn, { baud: 57600, seed }) : new MockTransparentModem(rig.clock, uart);
  const line = rig.line.attach(name, (b, snr, bad) => { if (!clock.dead) mock.fromLine(b, snr, bad); });
  mock.attachLine(line);
  return line;
}


export interface MeterNode {
  name: string;
  id: number;
  board: BoardProfile;
  flash: MockFlash;
  pulse: MockPulseInput;
  /** The cover's tamper switch, when the board's profile declares one (tamperPin), else null. */
  tamper: MockSwitch | null;
  system: MockSystem;
  clock: ClockScope;
  meter: Meter;
  line: LineNode;
  /** Power off: timers, line and modem gone; the flash keeps what it has. */
  powerOff(): void;
}

export interface MeterOptions {
  board?: string; kind?: number; groups?: number[]; version?: number; flash?: MockFlash; seed?: number; regions?: Partial<BoardProfile["regions"]>;
  /** Root key (32 hex digits): the meter authenticates (docs/security.md). */
  key?: string;
  /** On a restart request: power off, run the boot routine, start the program again (rig.meters tracks the new node). */
  autoRestart?: boolean;
  /** Provisioned with a boot routine from before packed images: it installs plain ones only, and the meter refuses a packed one at activation. */
  oldBoot?: boolean;
}

/** A fresh flash for the board with a program of `version` in the app region, as flash.sh leaves it. */
export function provisionedFlash(board: BoardProfile, version: number): MockFlash {
  const f = new MockFlash(board.flash);
  const prog = new TextEncoder().encode("/*app*/");
  const padded = new Uint8Array(Math.ceil(prog.length / 4) * 4).fill(0x20);
  padded.set(prog);
  const app = board.regions.app!;
  f.write(app.addr, encodeAppHeader({ length: prog.length, crc: hostNative.crc32(prog), version }));
  f.write(app.addr + 16, padded);
  return f;
}

export function bootMeter(rig: LinkRig, name: string, id: number, o: MeterOptions = {}): MeterNode {
  const board = loadProfile(o.board ?? "LINUX");
  const flash = o.flash ?? provisionedFlash(board, o.version ?? 1);
  const clock = rig.clock.scope();
  const uart = new MockUart({ kind: "random", max: 16, seed: id });
  const pulse = new MockPulseInput();
  const system = new MockSystem();
  const treq = new MockPin(), resetn = new MockPin();
  const line = modemOnLine(rig, name, clock, uart, treq, resetn, id);
  const hal: Hal = {
    flash, clock, modemUart: uart, pulse, led: null, modemTreq: treq, modemResetn: resetn,
    watchdog: new MockWatchdog(() => rig.clock.now()), system, native: hostNative,
  };
  const make = modemFactory(rig);
  let seed = o.seed ?? id;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  const tamper = board.tamperPin ? new MockSwitch() : null;
  const meter = startMeter(hal, { board: board.board, code: board.code, baud: 57600, maxImageSize: board.maxImageSize, repairRows: board.repairRows }, make, { ...board.regions, ...o.regions }, { id, kind: o.kind, groups: o.groups, key: o.key }, random, keyedAuthoriser, meterDecoder(board), !o.oldBoot);
  // as the board's entry does: the switch into the event log where the profile declares one
  if (tamper) watchTamper(tamper, meter.metering, clock);
  const node: MeterNode = {
    name, id, board, flash, pulse, tamper, system, clock, meter, line,
    powerOff: () => { clock.kill(); rig.line.detach(line); pulse.stop(); },
  };
  rig.meters.set(id, node);
  if (o.autoRestart) {
    system.onReset = () => {
      rig.clock.setTimeout(() => {
        node.powerOff();
        install(flash, o.oldBoot ? { ...hostNative, unshrink: undefined } : hostNative, o.regions ? { ...board.regions, ...o.regions } : board.regions);
        bootMeter(rig, name, id, { ...o, flash });
      }, 0);
    };
  }
  return node;
}

// ---- a concentrator: the real concentrator program on mocked hardware ----

export interface ConcNode {
  ctx: ConcentratorContext;
  flash: MockFlash;
  clock: ClockScope;
  /** The readings it keeps (its readings store, read now), oldest first. */
  readonly lines: string[];
  /** Its Storage: the readings store and the registry. */
  storage: MockStorage;
  powerOff(): void;
}

/** Boots the concentrator program (id 0xFFFFFFFF) on the rig's line; `keep` reuses a previous node's flash and readings file. */
export function bootConcentrator(rig: LinkRig, name: string, meters: number[], keep?: ConcNode, config: Partial<DeviceConfig> = {}, keys?: ConcentratorKeys): ConcNode {
  const board = loadProfile("LINUX");
  const flash = keep?.flash ?? new MockFlash(board.flash);
  const storage = keep?.storage ?? new MockStorage(4 << 20);
  storage.powerOn();
  const clock = rig.clock.scope();
  const uart = new MockUart({ kind: "random", max: 16, seed: 99 });
  const treq = new MockPin(), resetn = new MockPin();
  const line = modemOnLine(rig, name, clock, uart, treq, resetn, 99);
  const hal: Hal = {
    flash, clock, modemUart: uart, pulse: null, led: null, modemTreq: treq, modemResetn: resetn,
    watchdog: new MockWatchdog(() => rig.clock.now()), system: new MockSystem(), native: hostNative,
  };
  const ctx = startConcentrator(hal, 57600, modemFactory(rig), board.regions, { id: 1, meters, ...config }, storage, keys);
  return {
    ctx, flash, clock, storage,
    get lines() { const out: string[] = []; ctx.store.forEach((l) => out.push(l)); return out; },
    powerOff: () => { clock.kill(); rig.line.detach(line); },
  };
}
