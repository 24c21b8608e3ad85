/*
 * The scenario's load (runScenario's second part): the pulses each simulated meter counts
 * through the day, and the concentrator's reading rounds, with the readings lines read back
 * by the device's own parser (firmware/concentrator/readings.ts readingFields).
 */
import { Rng } from "../hal/mock/rng";
import { Iv } from "../firmware/meter/metering";
import { PROFILE_D, readingFields } from "../firmware/concentrator/readings";
import type { ConcNode, LinkRig } from "./rig";
import type { Scenario } from "./scenario";
import type { Note } from "./run-faults";
import { Rd } from "../firmware/protocol/catalogue";

/** A readings line as the concentrator files it: id,OBIS,value,unit,scaler,time,status. */
export interface ReadingLine { id: number; obis: string; value: number; unit: number; scaler: number; time: number; status: number; profile: boolean }

/** One readings line, parsed by the device's readingFields; null for a line that is not one. */
export function readingLine(l: string): ReadingLine | null {
  const f = readingFields(l);
  if (!f) return null;
  return { id: +f[0], obis: f[1], value: +f[2], unit: +f[3], scaler: +f[4], time: +f[5], status: +f[6], profile: f[1].split(".")[1] === String(PROFILE_D) };
}

/** Lines that are not a meter's total register: its events and its billing registers (rates 1-0:1.8.1 to 1.8.4, maximum demand 1-0:1.6.0). */
const NOT_TOTAL = /^0-0:99\.98\.0$|^1-0:1\.(8\.[1-9]|6\.)/;

/** Whether a readings line's OBIS is a meter's total register (not an event, a rate or a demand). */
export function isTotalRegister(obis: string): boolean { return !NOT_TOTAL.test(obis); }

/** The newest total register value of meter `id` in `lines` from index `from`, or -1. */
export function lastRegister(lines: string[], id: number, from = 0): number {
  let v = -1;
  for (let i = from; i < lines.length; i++) { const r = readingLine(lines[i]); if (r && r.id === id && !r.profile && isTotalRegister(r.obis)) v = r.value; }
  return v;
}

/** Meter `id`'s load-profile intervals on the wall clock (those closed before it had a clock carry CLOCK_NOT_SET and uptime times). */
export function wallIntervals(lines: string[], id: number): { v: number; t: number }[] {
  const out: { v: number; t: number }[] = [];
  for (const l of lines) { const r = readingLine(l); if (r && r.id === id && r.profile && !(r.status & Iv.CLOCK_NOT_SET)) out.push({ v: r.value, t: r.time }); }
  return out;
}

/** The pulses the day gave each meter (startPulses). */
export interface Pulses {
  /** Pulses each meter accepted. */
  pulses: Map<number, number>;
  /** Those it counted before it had a clock (in its register, in no interval). */
  preClock: Map<number, number>;
  /** The pulses meter `id` accepted in its load-profile interval running now (0 before its clock). */
  inInterval(id: number): number;
}

/**
 * Schedules the day's pulses of every simulated meter (ours and the neighbour's) that has pulsesPerHour (exponential
 * gaps of at least 200 ms, from the seed) from `dayStart` for `dayMs`: the pulses each meter
 * accepted, and those it counted before it had a clock (in its register, in no interval).
 */
export function startPulses(rig: LinkRig, sc: Scenario, isSim: (id: number) => boolean, dayStart: number, dayMs: number): Pulses {
  const clock = rig.clock, all = [...sc.meters, ...(sc.neighbour?.meters ?? [])], ids = all.map((m) => m.id);
  const pulses = new Map<number, number>(ids.map((id) => [id, 0]));
  const preClock = new Map<number, number>(ids.map((id) => [id, 0]));
  const interval = new Map<number, { start: number; n: number }>();
  for (const m of all) {
    if (!m.pulsesPerHour || !isSim(m.id)) continue;
    const rng = new Rng(sc.seed * 7919 + m.id);
    const mean = 3_600_000 / m.pulsesPerHour;
    const next = () => {
      const gap = 200 + -Math.log(1 - rng.next()) * Math.max(1, mean - 200);
      clock.setTimeout(() => {
        if (clock.now() >= dayStart + dayMs) return;
        const node = rig.meters.get(m.id)!;
        const before = node.pulse.accepted;
        node.pulse.edge(clock.now());
        if (node.pulse.accepted > before) {
          pulses.set(m.id, pulses.get(m.id)! + 1);
          const w = node.meter.metering.wallTime();
          if (!w) preClock.set(m.id, preClock.get(m.id)! + 1);
          // (the meter's interval: it starts a new one at each whole interval of its clock)
          const iv = node.meter.metering.settings.intervalS, start = w - (w % iv), cur = interval.get(m.id);
          if (cur && cur.start === start) cur.n++;
          else interval.set(m.id, { start, n: 1 });
        }
        next();
      }, gap);
    };
    next();
  }
  return {
    pulses, preClock,
    inInterval: (id) => {
      const m = rig.meters.get(id)!.meter.metering, w = m.wallTime(), iv = m.settings.intervalS, cur = interval.get(id);
      return w && cur && cur.start === w - (w % iv) ? cur.n : 0;
    },
  };
}

/**
 * The concentrator's reading rounds as an operator would run them: `readAll(what)` runs a
 * round of every meter (what 1 registers, 2 the profile), then single-meter rounds for the
 * meters still lacking, a few times. `step(ms)` advances the run's time; `lines` are the
 * readings lines drained from the concentrator so far (the run's head-end part).
 */
/**
 * One round of `what` (Rd) now, of every meter or only `only`, waiting while the concentrator
 * is busy (at most `withinMs` in all): [collected, missed], or null when it did not end.
 */
export async function roundNow(conc: ConcNode, rig: LinkRig, step: (ms: number) => Promise<void>, what: number, only?: number, withinMs = 3_600_000): Promise<[number, number] | null> {
  let res: [number, number] | null = null;
  const until = rig.clock.now() + withinMs;
  while (conc.ctx.collect((c, x) => { res = [c, x]; }, only === undefined ? undefined : conc.ctx.registry.find(only) >= 0 ? only : undefined, what) && rig.clock.now() < until) await step(1000);
  while (!res && rig.clock.now() < until) await step(200);
  return res;
}

export function readingRounds(conc: ConcNode, rig: LinkRig, lines: string[], ids: number[], intervalsPerMeter: number, step: (ms: number) => Promise<void>, note: Note, lastStart?: number) {
  return async (what: number): Promise<void> => {
    const from = lines.length;
    // a meter lacks intervals when it has fewer than the day's, or not the day's last (`lastStart`: a round whose last answer was lost leaves the day's end uncollected)
    const lacking = (id: number) => {
      if (what === Rd.REGISTERS) return lastRegister(lines, id, from) < 0;
      const w = wallIntervals(lines, id);
      return w.length < intervalsPerMeter || lastStart !== undefined && (!w.length || w[w.length - 1].t < lastStart);
    };
    if (!(await roundNow(conc, rig, step, what))) note(`a ${what === Rd.REGISTERS ? "register" : "profile"} round did not end`);
    for (let attempt = 0; attempt < 4; attempt++) for (const id of ids.filter(lacking)) await roundNow(conc, rig, step, what, id);
  };
}
