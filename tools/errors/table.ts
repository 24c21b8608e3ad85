/*
 * The device's error codes with their names and meanings, for host output. The one table is
 * firmware/common/errors.ts itself: this module reads it (each member's name and number, the
 * one-line doc comment above it as its meaning, without its area ("Campaign: ") and final
 * full stop, and the ranges in its header comment), so a code added there is named here
 * without another list to keep.
 *
 *   describeErr(94)            "E94 CAMPAIGN_NO_ANSWER: a meter stopped answering (per-meter limit)"
 *   errName(94)                "E94 CAMPAIGN_NO_ANSWER"
 *   nameCodes("... (E93)")     "... (E93 CAMPAIGN_ABORTED: ...)": a device's line with every code it carries named
 */
import { readFileSync } from "node:fs";

export interface ErrInfo { code: number; name: string; meaning: string }
export interface ErrRange { lo: number; hi: number; what: string }
export interface ErrTable {
  codes: ErrInfo[];
  ranges: ErrRange[];
  /** What the file breaks of its own rules: a member without a doc comment, a line not understood. */
  problems: string[];
}

export const ERRORS_SOURCE = new URL("../../firmware/common/errors.ts", import.meta.url);

/** A doc comment as a meaning: without its area ("Campaign: ", "Record log: "), a lower-case start, no final full stop. */
function meaningOf(doc: string): string {
  const s = doc.replace(/^[A-Z][a-z]+( [a-z]+)?: /, "").replace(/\.$/, "");
  return /^[A-Z](?![A-Z0-9_])/.test(s) ? s[0].toLowerCase() + s.slice(1) : s;
}

/** The table in the text of firmware/common/errors.ts. */
export function parseErrors(text: string): ErrTable {
  const problems: string[] = [];
  const ranges: ErrRange[] = [];
  const head = /^\/\*([\s\S]*?)\*\//.exec(text.trimStart());
  const rangeText = head ? /Ranges:\s*\n([\s\S]*?)(?:\n \* [A-Z]|$)/.exec(head[1]) : null;
  for (const l of (rangeText?.[1] ?? "").split("\n")) {
    const m = /^\s*\*\s+(\d+)-(\d+) (.+?)\s*$/.exec(l);
    if (m) ranges.push({ lo: +m[1], hi: +m[2], what: m[3] });
  }
  if (!ranges.length) problems.push("the header comment lists no ranges (lines \" *   LO-HI what\" after \"Ranges:\")");
  const body = /export const enum Err \{([\s\S]*?)\n\}/.exec(text);
  if (!body) return { codes: [], ranges, problems: [...problems, "no `export const enum Err { ... }`"] };
  const codes: ErrInfo[] = [];
  let doc: string | null = null;
  for (const raw of body[1].split("\n")) {
    const l = raw.trim();
    if (!l) continue;
    let m;
    if ((m = /^\/\*\*\s*(.*?)\s*\*\/$/.exec(l))) { doc = meaningOf(m[1]); continue; }
    if ((m = /^([A-Z][A-Z0-9_]*)\s*=\s*(\d+),?$/.exec(l))) {
      if (!doc) problems.push(`${m[1]} = ${m[2]} has no one-line doc comment saying what it means`);
      codes.push({ code: +m[2], name: m[1], meaning: doc ?? "" });
      doc = null;
      continue;
    }
    problems.push(`a line the host cannot read: "${l}" (one-line /** meaning */ comments and NAME = number, members only)`);
    doc = null;
  }
  return { codes, ranges, problems };
}

/**
 * What breaks the table's rules, beyond what parsing found: names or numbers twice, ranges
 * that overlap, a code (other than OK, 0) in no range, codes out of order (each sits in the
 * block of its range, in ascending order).
 */
export function checkTable(t: ErrTable): string[] {
  const out = [...t.problems];
  const seen = new Map<string, number>();
  for (const e of t.codes) {
    for (const k of [`name ${e.name}`, `number ${e.code}`]) if (seen.has(k)) out.push(`${k} is used twice`); else seen.set(k, e.code);
    if (e.code !== 0 && !t.ranges.some((r) => e.code >= r.lo && e.code <= r.hi)) out.push(`${e.name} = ${e.code} is in no range of the header comment`);
  }
  t.ranges.forEach((r, i) => { if (r.lo > r.hi || (i > 0 && r.lo <= t.ranges[i - 1].hi)) out.push(`range ${r.lo}-${r.hi} is empty, out of order or overlaps the one before`); });
  t.codes.forEach((e, i) => { if (i > 0 && e.code <= t.codes[i - 1].code) out.push(`${e.name} = ${e.code} comes after ${t.codes[i - 1].name} = ${t.codes[i - 1].code}: keep the codes in ascending order, each in its range's block`); });
  return out;
}

let cached: ErrTable | null = null;

/** The table of the device's error codes (read once). */
export function errorTable(): ErrTable {
  return (cached ??= parseErrors(readFileSync(ERRORS_SOURCE, "utf8")));
}

/** A code by number, by name (any case) or as "E94". */
export function lookupErr(key: string | number): ErrInfo | undefined {
  const t = errorTable().codes;
  if (typeof key === "number") return t.find((e) => e.code === key);
  const s = key.trim();
  if (/^E?\d+$/i.test(s)) return t.find((e) => e.code === Number(s.replace(/^E/i, "")));
  return t.find((e) => e.name === s.toUpperCase());
}

/** "E94 CAMPAIGN_NO_ANSWER" (a code the table does not know: "E250 (unknown code)"). */
export function errName(code: number): string {
  const e = lookupErr(code);
  return e ? `E${code} ${e.name}` : `E${code} (unknown code)`;
}

/** "E94 CAMPAIGN_NO_ANSWER: a meter stopped answering (per-meter limit)" */
export function describeErr(code: number): string {
  const e = lookupErr(code);
  return e ? `E${code} ${e.name}${e.meaning ? `: ${e.meaning}` : ""}` : `E${code} (unknown code)`;
}

/**
 * A line from a device with the codes it carries named: "(E93)" becomes "(E93
 * CAMPAIGN_ABORTED: ...)", ", E92" at the end ", E92 CAMPAIGN_NO_PROGRESS: ...". Codes the
 * table does not know, and codes already named, stay as they are.
 */
export function nameCodes(line: string): string {
  // each code's meaning once: a list of meters failed with the same code stays readable
  // ("failed: 1001 E144 AUTH_NO_TAG: ... 1002 E144 AUTH_NO_TAG 1003 E144 AUTH_NO_TAG")
  const said = new Set<number>();
  return line.replace(/\bE(\d{1,3})\b(?! [A-Z][A-Z0-9_]*\b)/g, (all, n: string) => {
    const code = Number(n);
    if (!(code > 0 && lookupErr(code))) return all;
    if (said.has(code)) return errName(code);
    said.add(code);
    return describeErr(code);
  });
}
