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

/** What the verdict needs to know of a meter (the run's MeterSummary has it). */
export interface MeterOutcome {
  id: number; version: number; confirmed: boolean; campaignState: string; code: number;
  pulses: number; preClock: number; register: number; registerAfter: number; intervals: number; intervalSum: number; board?: string;
  /** With the scenario's tariff: the rate registers 1 to 4 read at the end (an empty list: never read). */
  rates?: number[];
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
    problems.push(...registerProblems(m.id, m.pulses, m.register, m.registerAfter));
    // the tariff: the rates add up to the register, and the day switched between at least two
    if (m.rates && !m.rates.length) problems.push(`meter ${m.id}: its billing registers were never read`);
    else if (m.rates && m.rates.reduce((a, b) => a + b, 0) !== m.registerAfter) problems.push(`meter ${m.id}: rates ${m.rates.join(" + ")} do not add up to its register ${m.registerAfter}`);
    else if (m.rates && m.rates.filter((v) => v > 0).length < 2) problems.push(`meter ${m.id}: the day's pulses are all in one rate (${m.rates.join(", ")}): no tariff switch`);
    const ts = intervalTimes(m.id).sort((a, b) => a - b);
    const gap = ts.findIndex((t, k) => k > 0 && t - ts[k - 1] !== 900);
    if (gap > 0) problems.push(`meter ${m.id}: no profile interval between ${ts[gap - 1]} and ${ts[gap]}`);
    if (m.intervals && ts[ts.length - 1] < DAY0 + sc.readings.hours * 3600 - 900) problems.push(`meter ${m.id}: the last profile interval collected starts at ${ts[ts.length - 1]}, before the day's end`);
    if (m.intervalSum !== m.pulses - m.preClock || (!m.intervals && m.pulses > m.preClock)) problems.push(`meter ${m.id}: ${m.intervals} profile intervals summing to ${m.intervalSum}, expected a sum of ${m.pulses - m.preClock} (${m.pulses} pulses, ${m.preClock} before its clock was set)`);
  }
  problems.push(...missedCuts);
  return problems;
}
