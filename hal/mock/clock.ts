/*
 * A virtual clock. Time moves only through advance(); due timers run in due-time order
 * (ties in the order they were set), deterministically; a timer set while advancing runs
 * in the same advance if it falls due inside it.
 */
import type { Clock } from "../types";

interface Timer { id: number; due: number; every: number; fn: () => void; seq: number; }

export class VirtualClock implements Clock {
  private t: number;
  private timers: Timer[] = [];
  private nextId = 1;
  private seq = 0;

  constructor(startMs = 0) { this.t = startMs; }

  now(): number { return this.t; }

  setTimeout(fn: () => void, ms: number): number { return this.add(fn, ms, 0); }

  setInterval(fn: () => void, ms: number): number {
    if (!(ms > 0)) throw new Error(`setInterval needs a positive period, got ${ms}`);
    return this.add(fn, ms, ms);
  }

  clear(id: number): void { this.timers = this.timers.filter((x) => x.id !== id); }

  /** Timers waiting to run. */
  get pending(): number { return this.timers.length; }

  /** Time of the next due timer, or Infinity. */
  nextDue(): number {
    let d = Infinity;
    for (const x of this.timers) if (x.due < d) d = x.due;
    return d;
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`advance needs a non-negative time, got ${ms}`);
    const end = this.t + ms;
    for (;;) {
      const next = this.popDue(end);
      if (!next) break;
      this.t = next.due;
      if (next.every > 0) {
        next.due += next.every;
        next.seq = this.seq++;
        this.timers.push(next);
      }
      next.fn();
    }
    this.t = end;
  }

  /** Runs timers until none is left or `limitMs` of virtual time has passed. */
  runUntilIdle(limitMs: number): void {
    const stop = this.t + limitMs;
    while (this.timers.length && this.nextDue() <= stop) this.advance(this.nextDue() - this.t);
  }

  private add(fn: () => void, ms: number, every: number): number {
    if (typeof fn !== "function") throw new Error("timer needs a function");
    const id = this.nextId++;
    this.timers.push({ id, due: this.t + Math.max(0, ms || 0), every, fn, seq: this.seq++ });
    return id;
  }

  private popDue(end: number): Timer | null {
    let best = -1;
    for (let i = 0; i < this.timers.length; i++) {
      const x = this.timers[i];
      if (x.due > end) continue;
      if (best < 0 || x.due < this.timers[best].due || (x.due === this.timers[best].due && x.seq < this.timers[best].seq)) best = i;
    }
    if (best < 0) return null;
    return this.timers.splice(best, 1)[0];
  }

  /**
   * A view of this clock for one simulated device: the same time, and `kill()` clears
   * every timer the device set (its power went off).
   */
  scope(): ClockScope { return new ClockScope(this); }
}

export class ClockScope implements Clock {
  private readonly ids = new Set<number>();
  dead = false;
  constructor(private readonly base: VirtualClock) {}
  now(): number { return this.base.now(); }
  setTimeout(fn: () => void, ms: number): number {
    if (this.dead) return 0;
    const id = this.base.setTimeout(() => { this.ids.delete(id); fn(); }, ms);
    this.ids.add(id);
    return id;
  }
  setInterval(fn: () => void, ms: number): number {
    if (this.dead) return 0;
    const id = this.base.setInterval(fn, ms);
    this.ids.add(id);
    return id;
  }
  clear(id: number): void { this.ids.delete(id); this.base.clear(id); }
  kill(): void {
    this.dead = true;
    for (const id of this.ids) this.base.clear(id);
    this.ids.clear();
  }
}
