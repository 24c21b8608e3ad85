/*
 * Stands in for a real board in hardware-in-the-loop tests: the meter program (the same
 * firmware modules) on a mocked flash, in real time, with its modem UART on a serial port
 * (one end of a socat pseudo-terminal pair). The bench's bridge holds the other end and
 * plays the modem. On a restart request it runs the boot routine and starts again.
 */
import { install } from "../../firmware/boot/install";
import { startMeter, type Meter } from "../../firmware/meter/meter";
import { st7580Factory } from "../../firmware/link/factory";
import type { Clock, Uart } from "../../hal/types";
import { MockPulseInput, MockSystem, MockWatchdog } from "../../hal/mock/pins";
import { hostNative } from "../../hal/mock/native";
import { loadProfile, meterDecoder } from "../../tools/profiles/profiles";
import { provisionedFlash } from "../../bench/rig";
import type { Port } from "../../bench/hil";

/** Node's timers as a device clock; `stop()` clears every one (power off). */
export function wallClock(): Clock & { stop(): void } {
  const t0 = performance.now();
  const live = new Map<number, NodeJS.Timeout>();
  let next = 1;
  return {
    now: () => performance.now() - t0,
    setTimeout: (fn, ms) => { const id = next++; live.set(id, setTimeout(() => { live.delete(id); fn(); }, ms)); return id; },
    setInterval: (fn, ms) => { const id = next++; live.set(id, setInterval(fn, ms)); return id; },
    clear: (id) => { const t = live.get(id); if (t) { clearTimeout(t); clearInterval(t); live.delete(id); } },
    stop: () => { for (const t of live.values()) { clearTimeout(t); clearInterval(t); } live.clear(); },
  };
}

export interface SerialBoard { meter(): Meter; boots: number; pulse(): MockPulseInput; stop(): void }

export function serialBoard(port: Port, id: number, version = 1): SerialBoard {
  const board = loadProfile("LINUX");
  const flash = provisionedFlash(board, version);
  let listener: ((s: string) => void) | null = null;
  port.onData((b) => listener?.(Buffer.from(b).toString("latin1")));
  let clock = wallClock(), meter: Meter, pulse: MockPulseInput;
  const state = { boots: 0 } as SerialBoard & { boots: number };
  const boot = () => {
    state.boots++;
    clock = wallClock();
    pulse = new MockPulseInput();
    const system = new MockSystem();
    const uart: Uart = { setup: () => {}, write: (s) => port.write(Buffer.from(s, "latin1")), onData: (fn) => { listener = fn; } };
    system.onReset = () => setTimeout(() => { clock.stop(); listener = null; install(flash, hostNative, board.regions); boot(); }, 0);
    meter = startMeter({ flash, clock, modemUart: uart, pulse, led: null, modemTreq: null, modemResetn: null, watchdog: new MockWatchdog(() => clock.now()), system, native: hostNative },
      { board: board.board, code: board.code, baud: 57600, maxImageSize: board.maxImageSize, repairRows: board.repairRows }, st7580Factory(57600), board.regions, { id }, Math.random, undefined, meterDecoder(board), true);
  };
  boot();
  state.meter = () => meter;
  state.pulse = () => pulse;
  state.stop = () => { clock.stop(); listener = null; port.close(); };
  return state;
}
