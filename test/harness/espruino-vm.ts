/*
 * Runs shipped bundles (dist/<board>/<role>.js) in a Node vm context shaped like the
 * Espruino 2v29 API and backed by the mocks: Flash on MockFlash (NOR rules, power cuts),
 * Serial1..6 on MockUart, timers on VirtualClock, Storage in memory. APIs the
 * interpreter lacks are deleted from the context, so a bundle that leans on them fails
 * here as it would on a board. Power-on runs Storage boot files in the interpreter's order.
 */
import { decompress as heatshrinkDecompress } from "../../tools/image/heatshrink";
import vm from "node:vm";
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { MockFlash, type CutMode } from "../../hal/mock/flash";
import { bytesOf, latin1 } from "../../hal/mock/native";
import { MockUart } from "../../hal/mock/uart";
import { VirtualClock, type ClockScope } from "../../hal/mock/clock";
import { eraseUnitAt } from "../../firmware/common/layout";
import type { BoardProfile } from "../../tools/profiles/profiles";

type Data = string | Uint8Array | ArrayBuffer | number[];

function toBytes(d: Data): Uint8Array {
  if (typeof d === "string") return bytesOf(d);
  if (d instanceof ArrayBuffer) return new Uint8Array(d);
  if (d instanceof Uint8Array) return d;
  if (ArrayBuffer.isView(d)) return new Uint8Array((d as ArrayBufferView).buffer, (d as ArrayBufferView).byteOffset, (d as ArrayBufferView).byteLength);
  return Uint8Array.from(d as number[]);
}


/** What the interpreter lacks (measured on 2v29; the gate, tools/gate/gate.ts, refuses the same), removed from each context. */
const REMOVE = `
delete globalThis.Map; delete globalThis.Set; delete globalThis.WeakMap; delete globalThis.WeakSet;
delete Array.from; delete Array.of; delete Object.freeze; delete Number.isInteger; delete Number.isFinite;
delete Math.imul; delete Math.trunc; delete Math.clz32;
delete String.prototype.padStart; delete String.prototype.padEnd; delete Array.prototype.fill;
delete Object.getPrototypeOf(Uint8Array).from;
(function () {
  // 2v29: a typed array's slice() and filter() give a plain Array, not a typed array (measured)
  var TA = Object.getPrototypeOf(Uint8Array).prototype, AS = Array.prototype.slice, AF = Array.prototype.filter;
  TA.slice = function (a, b) { return AS.call(this, a, b); };
  TA.filter = function (f, t) { return AF.call(this, f, t); };
})();
`;

export interface DeviceOptions {
  profile: BoardProfile;
  /** Flash shared across reboots; made from the profile when absent. */
  flash?: MockFlash;
  storage?: Map<string, string>;
  clock?: VirtualClock;
  /** require("heatshrink") answers with the interpreter's decompress (tools/image/heatshrink.ts); false: "Module heatshrink not found", as a build without it. Default true. */
  heatshrink?: boolean;
}

/** Boot code that never returned, on a board with no watchdog armed: it would hang for good. */
export class HangError extends Error {}
/** Boot code that never returned, with the watchdog armed: the board restarted (power it on again). */
export class WatchdogReset extends Error {}

/** One simulated board: its flash and Storage outlive power cycles; RAM does not. */
export class EspruinoDevice {
  readonly flash: MockFlash;
  readonly storage: Map<string, string>;
  readonly clock: VirtualClock;
  readonly profile: BoardProfile;
  serial: MockUart[] = [];
  output: string[] = [];
  context!: vm.Context;
  rebootRequested = false;
  watchdog: { timeout: number; kicks: number } | null = null;
  /** Restarts by the watchdog stand-in: boot code that ran longer than `hangMs` with the watchdog armed. */
  watchdogResets = 0;
  /** Boot code running this long counts as hung (the VM stops it): a watchdog reset where armed, else HangError. */
  hangMs = 10000;
  /** Timers of the current life: a power cycle clears them, as it clears RAM. */
  private life: ClockScope | null = null;

  /** Whether the interpreter has heatshrink (DeviceOptions). */
  readonly heatshrink: boolean;

  constructor(o: DeviceOptions) {
    this.profile = o.profile;
    this.flash = o.flash ?? new MockFlash(o.profile.flash);
    this.flash.memoryMapped = o.profile.memoryMapped;
    this.storage = o.storage ?? new Map();
    this.clock = o.clock ?? new VirtualClock();
    this.heatshrink = o.heatshrink ?? true;
    this.fresh();
  }

  /** A new interpreter: empty RAM, same flash and Storage. */
  private fresh(): void {
    const dev = this;
    const flash = this.flash;
    if (this.life) this.life.kill();
    const clock = this.life = this.clock.scope();
    this.serial = [1, 2, 3, 4, 5, 6].map(() => new MockUart());
    const flashModule = {
      getFree: () => dev.profile.freeAreas.map((a) => ({ addr: a.addr, length: a.length })),
      getPage: (addr: number) => eraseUnitAt(flash.geometry, addr) ?? undefined,
      erasePage: (addr: number) => {
        const u = eraseUnitAt(flash.geometry, addr);
        if (!u) throw new Error(`Flash.erasePage: 0x${addr.toString(16)} is outside flash`);
        flash.erase(u.addr);
      },
      write: (data: Data, addr: number) => flash.write(addr, toBytes(data).slice()),
      read: (len: number, addr: number) => flash.read(addr, len),
    };
    const storageModule = {
      read: (name: string, offset?: number, length?: number) => {
        const s = dev.storage.get(name);
        if (s === undefined) return undefined;
        return s.substr(offset ?? 0, length ?? s.length);
      },
      write: (name: string, data: Data) => { dev.storage.set(name, typeof data === "string" ? data : latin1(toBytes(data))); return true; },
      erase: (name: string) => { dev.storage.delete(name); },
      list: () => [...dev.storage.keys()],
      // StorageFile: kept as one Storage entry of text, appended to
      open: (name: string, mode: string) => {
        const key = `${name}\u0001`;
        if (mode === "w") dev.storage.set(key, "");
        let pos = 0;
        return {
          write: (d: string) => { if (mode === "r") throw new Error("StorageFile opened for reading"); dev.storage.set(key, (dev.storage.get(key) ?? "") + d); },
          readLine: () => {
            const t = dev.storage.get(key) ?? "";
            if (pos >= t.length) return undefined;
            const nl = t.indexOf("\n", pos);
            const end = nl < 0 ? t.length : nl + 1;
            const line = t.slice(pos, end);
            pos = end;
            return line;
          },
          erase: () => { dev.storage.delete(key); },
        };
      },
      getFree: () => 65536,
    };
    const modules: Record<string, unknown> = {
      Flash: flashModule,
      Storage: storageModule,
      crypto: { SHA256: (d: Data) => { const h = createHash("sha256").update(toBytes(d)).digest(); return h.buffer.slice(h.byteOffset, h.byteOffset + h.byteLength); } },
    };
    if (this.heatshrink) modules.heatshrink = { decompress: (d: Data) => { const b = heatshrinkDecompress(toBytes(d)); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); } };
    const serialPort = (u: MockUart) => ({
      setup: (baud: number) => u.setup(baud),
      write: (d: Data) => u.write(typeof d === "string" ? d : latin1(toBytes(d))),
      on: (ev: string, fn: (s: string) => void) => { if (ev === "data") u.onData(fn); },
      removeAllListeners: () => undefined,
    });
    const sandbox: Record<string, unknown> = {
      print: (...a: unknown[]) => dev.output.push(a.map(String).join(" ")),
      require: (name: string) => {
        if (!(name in modules)) throw new Error(`Module ${name} not found`);
        return modules[name];
      },
      getTime: () => clock.now() / 1000,
      setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms),
      setInterval: (fn: () => void, ms: number) => clock.setInterval(fn, ms),
      clearTimeout: (id: number) => clock.clear(id),
      clearInterval: (id: number) => clock.clear(id),
      setWatch: () => 1,
      clearWatch: () => undefined,
      digitalWrite: () => undefined,
      pinMode: () => undefined,
      process: { memory: () => ({ free: 4000, usage: 96, total: 4096, history: 0 }), env: { VERSION: "2v29" } },
      E: {
        CRC32: (d: Data) => crc32(toBytes(d)) >>> 0,
        toString: (d: Data) => latin1(toBytes(d)),
        toUint8Array: (s: string) => toBytes(s),
        memoryArea: (addr: number, len: number) => {
          if (!dev.profile.memoryMapped) throw new Error("E.memoryArea: flash is not memory-mapped on this board");
          return latin1(flash.read(addr, len));
        },
        setBootCode: (code: string) => dev.storage.set(".bootcde", code),
        reboot: () => { dev.rebootRequested = true; },
        enableWatchdog: (t: number) => { dev.watchdog = { timeout: t, kicks: 0 }; },
        kickWatchdog: () => { if (dev.watchdog) dev.watchdog.kicks++; },
        getErrorFlags: () => [],
      },
      load: () => { dev.rebootRequested = true; },
      btoa: (s: string) => Buffer.from(s, "latin1").toString("base64"),
      atob: (s: string) => Buffer.from(s, "base64").toString("latin1"),
    };
    ["Serial1", "Serial2", "Serial3", "Serial4", "Serial5", "Serial6"].forEach((n, i) => { sandbox[n] = serialPort(this.serial[i]); });
    // Pins are globals on a board; any name the profile uses resolves to a number here.
    for (const p of [this.profile.pulsePin, this.profile.led, this.profile.modem.tx, this.profile.modem.rx, this.profile.modem.pins.treq, this.profile.modem.pins.resetn]) {
      if (p) sandbox[p] = 0;
    }
    this.context = vm.createContext(sandbox);
    vm.runInContext(REMOVE + "globalThis.global = globalThis;", this.context);
    this.output = [];
    this.rebootRequested = false;
    this.watchdog = null;
  }

  /** Runs code in the interpreter, as the console or an uploaded file would. */
  run(code: string, filename = "upload.js"): unknown {
    return vm.runInContext(code, this.context, { filename });
  }

  /** Power on: fresh RAM, power back on the flash, then the Storage boot files in order. */
  /**
   * Power on: flash powered again, RAM fresh, boot files run. `cut` plans a power cut for
   * this run (flash operation `op` counted from power-on).
   */
  powerOn(cut?: { op: number; mode: CutMode; fraction?: number }): void {
    this.flash.reboot();
    if (cut) this.flash.planCut({ ...cut, op: this.flash.ops + cut.op });
    this.fresh();
    for (const f of [".boot0", ".boot1", ".boot2", ".boot3", ".bootcde"]) {
      const code = this.storage.get(f);
      if (code === undefined) continue;
      try {
        vm.runInContext(code, this.context, { filename: f, timeout: this.hangMs });
      } catch (e) {
        if ((e as { code?: string }).code !== "ERR_SCRIPT_EXECUTION_TIMEOUT") throw e;
        // the watchdog stand-in: a hang with the watchdog armed restarts the board
        if (!this.watchdog) throw new HangError(`${f} hung for ${this.hangMs} ms and no watchdog was armed`);
        this.watchdogResets++;
        throw new WatchdogReset(`${f} hung for ${this.hangMs} ms: the watchdog (${this.watchdog.timeout} s, never kicked) reset the board`);
      }
    }
  }

  /** A global of the running program. */
  global<T = unknown>(name: string): T {
    return (this.context as Record<string, unknown>)[name] as T;
  }

  /** The UART the profile connects the modem to. */
  modemUart(): MockUart {
    return this.serial[Number(this.profile.modem.uart.slice(6)) - 1];
  }
}

/**
 * A stand-in modem on a running program's endpoint (`meterline.endpoint`): each frame it
 * is given to send is copied into the returned list and confirmed 1 ms later. The board's
 * own driver still runs against a UART with no modem, so exchanges must stay within its
 * start-up timeout.
 */
export function standInModem(dev: EspruinoDevice, endpoint: { attach(m: unknown): void; events: { sent(err: number): void; ready(err: number): void } }): Uint8Array[] {
  const sent: Uint8Array[] = [];
  endpoint.attach({
    maxPayload: 242, stats: {}, start() {}, busy: () => false,
    send: (f: Uint8Array, l: number) => { sent.push(Uint8Array.from(f.subarray(0, l))); dev.clock.setTimeout(() => endpoint.events.sent(0), 1); return 0; },
  });
  endpoint.events.ready(0);
  return sent;
}
