/*
 * The verdict of a scenario run (runScenario's last part): what decides npm start's exit
 * code. Every simulated meter's readings accounted for before and after the update, its
 * profile without gaps up to the day's end, every meter updated and confirmed, every
 * scenario cut done.
 */
import { describeErr } from "../tools/errors/table";
import type { Scenario } from "./scenario";

/** Unix time the bench's day starts at (2026-11-24 00:00 UTC). */
export const DAY0 = 1_795_478_400;

/** How far ahead the neighbouring concentrator's clock is set: our meters must not take it. */
export const NEIGHBOUR_AHEAD_S = 3600;

/** What the verdict needs to know of a meter (the run's MeterSummary has it). */
export interface MeterOutcome {
  id: number; version: number; confirmed: boolean; campaignState: string; code: number;
  pulses: number; preClock: number; register: number; registerAfter: number; intervals: number; intervalSum: number; board?: string;
  /** With the scenario's tariff: the rate registers 1 to 4 read at the end (an empty list: never read). */
  rates?: number[];
  /**
   * A readings-day outage (run-faults.ts outage): the pulses it cost the register and the
   * profile, how long the meter was off, and the outage durations its POWER_UP events gave.
   */
  outage?: { register: number; profile: number; offSeconds: number; powerUps: number[] };
}

/** How much longer than the time off an outage's POWER_UP may say: the meter knows it was running until its last save, at least every interval end (900 s), and the restart. */
export const OUTAGE_SLACK_S = 960;

/** What the verdict needs to know of a neighbouring concentrator's meter. */
export interface NeighbourOutcome {
  id: number;
  /** The concentrator it belongs to (its HOME), the version it runs, the image of the download it holds (0 none). */
  home: number; version: number; session: number;
  /** Pulses the bench gave it, its last register in the neighbour's store (-1 never). */
  pulses: number; register: number;
  /** Whether our registry holds it, and our store's readings of it. */
  inOurRegistry: boolean; inOurStore: number;
}

/**
 * Every reading accounted for: the register read before the update equals the pulses the
 * meter was given, and the one read after it equals that (the update loses nothing). The
 * check npm start makes for every simulated meter, and bench:real for real interpreters.
 */
export function registerProblems(id: number, pulses: number, before: number, after: number): string[] {
  if (before !== pulses) return [`meter ${id}: register read ${before < 0 ? "never" : before} before the update, ${pulses} pulses counted`];
  if (after !== before) return [`meter ${id}: register ${after < 0 ? "never read" : after} after the update, ${before} before`];
  return [];
}

/** Meters not updated, grouped by state and code: "2001, 2002 failed (E94 CAMPAIGN_NO_ANSWER: ...); 2003 downloading". */
export function notUpdated(ms: { id: number; campaignState: string; code: number }[]): string {
  const groups = new Map<string, { ids: number[]; state: string; code: number }>();
  for (const m of ms) {
    const k = `${m.campaignState} ${m.code}`;
    if (!groups.has(k)) groups.set(k, { ids: [], state: m.campaignState, code: m.code });
    groups.get(k)!.ids.push(m.id);
  }
  return [...groups.values()].map((g) => `${g.ids.join(", ")} ${g.state}${g.code ? ` (${describeErr(g.code)})` : ""}`).join("; ");
}

/**
 * The run's problems (none: it passed). `ended`: the campaign's end line ("" when it did not
 * end), `code` its error code; `intervalTimes(id)`: the start times of the meter's wall-clock
 * profile intervals; `missedCuts`: the scenario's cuts that never happened.
 */
export function verdict(sc: Scenario, version: number, ended: string, code: number, meters: MeterOutcome[], intervalTimes: (id: number) => number[], missedCuts: string[]): string[] {
  const problems: string[] = [];
  if (code) problems.push(`${ended} (${describeErr(code)})`);
  else if (!ended) problems.push(`the campaign did not end within ${sc.deadlineMinutes} minutes of virtual time`);
  const notDone = meters.filter((m) => m.campaignState !== "activated");
  if (notDone.length) problems.push(`${notDone.length} of ${meters.length} meters not updated: ${notUpdated(notDone)}`);
  const wrong = meters.filter((m) => m.version !== version || !m.confirmed);
  if (wrong.length && !notDone.length) problems.push(`meters not running v${version} confirmed: ${wrong.map((m) => `${m.id} v${m.version}${m.confirmed ? "" : " unconfirmed"}`).join(", ")}`);
  for (const m of meters) {
    if (m.pulses < 0) {
      if (m.register < 0 || m.registerAfter < m.register) problems.push(`board ${m.id} (${m.board}): register ${m.register} before the update, ${m.registerAfter} after`);
      continue;
    }
    // an outage loses the pulses not saved yet (register) and the interval it struck (profile)
    const lost = m.outage ?? { register: 0, profile: 0 };
    problems.push(...registerProblems(m.id, m.pulses - lost.register, m.register, m.registerAfter));
    if (m.outage && !m.outage.powerUps.some((d) => d >= m.outage!.offSeconds && d <= m.outage!.offSeconds + OUTAGE_SLACK_S)) {
      problems.push(`meter ${m.id}: no POWER_UP event timing its outage of ${m.outage.offSeconds} s (its POWER_UPs: ${m.outage.powerUps.join(", ") || "none"} s)`);
    }
    // the tariff: the rates add up to the register, and the day switched between at least two
    if (m.rates && !m.rates.length) problems.push(`meter ${m.id}: its billing registers were never read`);
    else if (m.rates && m.rates.reduce((a, b) => a + b, 0) !== m.registerAfter) problems.push(`meter ${m.id}: rates ${m.rates.join(" + ")} do not add up to its register ${m.registerAfter}`);
    else if (m.rates && m.rates.filter((v) => v > 0).length < 2) problems.push(`meter ${m.id}: the day's pulses are all in one rate (${m.rates.join(", ")}): no tariff switch`);
    const ts = intervalTimes(m.id).sort((a, b) => a - b);
    const gap = ts.findIndex((t, k) => k > 0 && t - ts[k - 1] !== 900);
    if (gap > 0) problems.push(`meter ${m.id}: no profile interval between ${ts[gap - 1]} and ${ts[gap]}`);
    if (m.intervals && ts[ts.length - 1] < DAY0 + sc.readings.hours * 3600 - 900) problems.push(`meter ${m.id}: the last profile interval collected starts at ${ts[ts.length - 1]}, before the day's end`);
    if (m.intervalSum !== m.pulses - m.preClock - lost.profile || (!m.intervals && m.pulses > m.preClock)) problems.push(`meter ${m.id}: ${m.intervals} profile intervals summing to ${m.intervalSum}, expected a sum of ${m.pulses - m.preClock - lost.profile} (${m.pulses} pulses, ${m.preClock} before its clock was set${lost.profile ? `, ${lost.profile} in the interval an outage struck` : ""})`);
  }
  problems.push(...missedCuts);
  return problems;
}

/**
 * The neighbouring concentrator's meters untouched by ours (none of its problems: it passed):
 * each still its concentrator's, on version 1 with no download of ours, never in our registry
 * or store, its register in its own concentrator's store equal to its pulses; and the
 * neighbour's store holds none of our meters (`oursInTheirs`: how many lines it does).
 */
export function neighbourProblems(id: number, meters: NeighbourOutcome[], oursInTheirs: number): string[] {
  const problems: string[] = [];
  for (const m of meters) {
    if (m.home !== id) problems.push(`neighbour's meter ${m.id}: belongs to concentrator ${m.home}, not ${id}`);
    if (m.version !== 1 || m.session) problems.push(`neighbour's meter ${m.id}: runs v${m.version}${m.session ? `, holds a download of image ${m.session}` : ""}: our campaign reached it`);
    if (m.inOurRegistry || m.inOurStore) problems.push(`neighbour's meter ${m.id}: ${m.inOurRegistry ? "in our registry" : ""}${m.inOurRegistry && m.inOurStore ? ", " : ""}${m.inOurStore ? `${m.inOurStore} readings in our store` : ""}`);
    if (m.register !== m.pulses) problems.push(`neighbour's meter ${m.id}: register ${m.register < 0 ? "never read" : m.register} in its concentrator's store, ${m.pulses} pulses counted`);
  }
  if (oursInTheirs) problems.push(`the neighbour's store holds ${oursInTheirs} readings of our meters`);
  return problems;
}
