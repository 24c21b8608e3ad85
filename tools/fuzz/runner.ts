/*
 * Runs a fuzz target (tools/fuzz/targets.ts) through fast-check and counts what its inputs
 * turned into: decoded, refused (by error code or the decoder's own name for a refusal),
 * and failures. A failure never stops the run: every input is counted, the first failing
 * one is kept, and at the end fast-check replays the run from the same seed to shrink it
 * to a small input. Shared by `npm run fuzz` and the vitest test of the targets.
 */
import fc from "fast-check";

export interface Tally {
  inputs: number;
  /** Things decoded (messages, frames, records, lines: the target's `unit`). */
  decoded: number;
  /** Refusals by label: an error's name ("E3 TRUNCATED") or what a decoder without codes does ("null"). */
  refused: Map<string, number>;
  failures: number;
  /** The first failing input and why; `shrunk` is fast-check's smallest input failing the same way. */
  first: { input: string; why: string; shrunk?: { input: string; why: string } } | null;
  ms: number;
}

/** Source of a decoder: the file and the functions whose branches count for it. */
export interface Decoder { file: string; functions: string[] }

export interface Target<T = any> {
  name: string;
  /** The decoder(s) under test, one line. */
  about: string;
  /** What `decoded` counts. */
  unit: string;
  /** What counts as a failure, for the doc and --help. */
  failure: string;
  decoders: Decoder[];
  arb: fc.Arbitrary<T>;
  /** Runs one input, counting into `t`; returns null, or why the input is a failure. Must not change `x`. */
  run(x: T, t: Tally): string | null;
  /** The input, readable in a failure line (hex for bytes). */
  show(x: T): string;
}

export function newTally(): Tally {
  return { inputs: 0, decoded: 0, refused: new Map(), failures: 0, first: null, ms: 0 };
}

export function refuse(t: Tally, label: string, n = 1): void {
  if (n) t.refused.set(label, (t.refused.get(label) ?? 0) + n);
}

function attempt<T>(target: Target<T>, x: T, t: Tally): string | null {
  try {
    return target.run(x, t);
  } catch (e) {
    const at = e instanceof Error ? (e.stack ?? "").split("\n").find((l) => /^\s+at /.test(l))?.trim() : undefined;
    return `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}${at ? ` (${at})` : ""}`;
  }
}

/** `runs` inputs of `target` from `seed`. */
export function runTarget<T>(target: Target<T>, runs: number, seed: number): Tally {
  const t = newTally();
  const t0 = Date.now();
  fc.assert(fc.property(target.arb, (x) => {
    t.inputs++;
    const why = attempt(target, x, t);
    if (why === null) return;
    t.failures++;
    if (!t.first) t.first = { input: target.show(x), why };
  }), { numRuns: runs, seed });
  if (t.first) {
    // the same run again, stopping at the first failure, so fast-check shrinks it
    const r = fc.check(fc.property(target.arb, (x) => {
      const why = attempt(target, x, newTally());
      if (why !== null) throw new Error(why);
    }), { numRuns: runs, seed });
    if (r.failed && r.counterexample) t.first.shrunk = { input: target.show(r.counterexample[0]), why: r.errorInstance instanceof Error ? r.errorInstance.message : String(r.errorInstance) };
  }
  t.ms = Date.now() - t0;
  return t;
}

const num = (n: number) => n.toLocaleString("en-US");

/** Refusals as "E3 TRUNCATED 1,234, E61 PROTO_UNKNOWN_TYPE 56", most frequent first. */
export function refusals(t: Tally): string {
  const r = [...t.refused.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return r.length ? r.map(([k, v]) => `${k} ${num(v)}`).join(", ") : "none";
}

/** One line per target: name, inputs, decoded, refused by code, failures, time. */
export function line(target: Target, t: Tally): string {
  return `${target.name.padEnd(12)} ${num(t.inputs).padStart(9)} inputs  ${num(t.decoded).padStart(9)} ${target.unit} decoded  refused: ${refusals(t)}  failures ${num(t.failures)}  (${(t.ms / 1000).toFixed(1)} s)`;
}

/** The same as a markdown table row. */
export function row(target: Target, t: Tally): string {
  return `| ${target.name} | ${num(t.inputs)} | ${num(t.decoded)} ${target.unit} | ${refusals(t)} | ${num(t.failures)} | ${(t.ms / 1000).toFixed(0)} s |`;
}
