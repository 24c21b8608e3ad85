/* Output pins and a pulse input for host tests. */
import type { OutputPin, PulseInput, SwitchInput, System, Watchdog } from "../types";

/** Records every level it is driven to. */
export class MockPin implements OutputPin {
  readonly levels: boolean[] = [];
  /** Optional hook: a simulated device wired to this pin. */
  onSet: ((high: boolean) => void) | null = null;
  set(high: boolean): void {
    if (typeof high !== "boolean") throw new Error("OutputPin.set takes a boolean");
    this.levels.push(high);
    if (this.onSet) this.onSet(high);
  }
  get level(): boolean | undefined { return this.levels[this.levels.length - 1]; }
}

/**
 * A pulse input. Tests call `edge(timeMs)` for every raw edge (contact bounce included);
 * the listener sees one pulse per edge that comes at least `debounceMs` after the last
 * accepted one, as setWatch's debounce delivers them.
 */
export class MockPulseInput implements PulseInput {
  private listener: ((t: number) => void) | null = null;
  private debounce = 0;
  private last = -Infinity;
  accepted = 0;
  rejected = 0;

  start(listener: (timeMs: number) => void, debounceMs: number): void {
    if (this.listener) throw new Error("PulseInput.start while already started: stop first");
    if (!(debounceMs >= 0)) throw new Error(`bad debounce ${debounceMs}`);
    this.listener = listener;
    this.debounce = debounceMs;
  }

  stop(): void { this.listener = null; }

  get running(): boolean { return this.listener !== null; }

  edge(timeMs: number): void {
    if (!this.listener) return; // not watching: the edge is lost, as on a board
    if (timeMs - this.last < this.debounce) { this.rejected++; return; }
    this.last = timeMs;
    this.accepted++;
    this.listener(timeMs);
  }
}

/** A tamper switch: tests call `set(open)`; the listener sees each change. */
export class MockSwitch implements SwitchInput {
  private listener: (() => void) | null = null;
  state = false;
  watch(listener: () => void): void {
    if (this.listener) throw new Error("SwitchInput.watch twice: one listener");
    this.listener = listener;
  }
  open(): boolean { return this.state; }
  set(open: boolean): void {
    if (open === this.state) return;
    this.state = open;
    if (this.listener) this.listener();
  }
}

/** A watchdog that records kicks; `expired(now)` tells whether the timeout passed unkicked. */
export class MockWatchdog implements Watchdog {
  timeoutSeconds = 0;
  lastKick = 0;
  kicks = 0;
  constructor(private readonly now: () => number) {}
  enable(timeoutSeconds: number): void {
    if (this.timeoutSeconds) throw new Error("the watchdog cannot be enabled twice");
    this.timeoutSeconds = timeoutSeconds;
    this.lastKick = this.now();
  }
  kick(): void { this.kicks++; this.lastKick = this.now(); }
  expired(): boolean { return this.timeoutSeconds > 0 && this.now() - this.lastKick > this.timeoutSeconds * 1000; }
}

/** The system: records restart requests instead of restarting. */
export class MockSystem implements System {
  resets = 0;
  cause = 1;
  free = 2000;
  onReset: (() => void) | null = null;
  reset(): void { this.resets++; if (this.onReset) this.onReset(); }
  resetCause(): number { return this.cause; }
  freeVariables(): number { return this.free; }
}
