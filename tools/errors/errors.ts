/*
 * npm run errors: the device's error codes by number or name, with what each means (the table
 * is firmware/common/errors.ts, read by tools/errors/table.ts).
 *
 *   npm run errors                 every code, by range
 *   npm run errors -- 94           E94 CAMPAIGN_NO_ANSWER: a meter stopped answering (per-meter limit)
 *   npm run errors -- CAMPAIGN_NO_ANSWER E143 ...
 */
import { cli, isMain, ToolError, type Tool } from "../cli/cli";
import { describeErr, errorTable, lookupErr } from "./table";

export const TOOL: Tool = {
  name: "errors", run: "npm run errors --",
  about: "The device's error codes (the numbers a console, a reply or a log line carries) with their names\nand meanings. With no code: every code, by range. A code is a number (94), E and a number (E94)\nor a name (CAMPAIGN_NO_ANSWER, any case).",
  options: {},
  positionals: { usage: "[CODE ...]", help: "codes to look up (number, E-number or name)" },
  examples: ["npm run errors -- 94", "npm run errors -- campaign_no_answer E143", "npm run errors"],
  notes: ["exit 0; 1 when a code is not in the table (one line naming it)"],
};

/** The lines `npm run errors` prints for `codes` (all of them by range when empty). */
export function errorLines(codes: string[]): string[] {
  const t = errorTable();
  if (codes.length) {
    return codes.map((c) => {
      const e = lookupErr(c);
      if (!e) throw new ToolError(`no error code "${c}" (npm run errors lists them all)`);
      return describeErr(e.code);
    });
  }
  const lines: string[] = ["0 success", `  ${describeErr(0)}`];
  for (const r of t.ranges) {
    const inside = t.codes.filter((e) => e.code >= r.lo && e.code <= r.hi);
    lines.push(`${r.lo}-${r.hi} ${r.what}`, ...inside.map((e) => `  ${describeErr(e.code)}`));
  }
  const outside = t.codes.filter((e) => e.code !== 0 && !t.ranges.some((r) => e.code >= r.lo && e.code <= r.hi));
  if (outside.length) lines.push("outside the ranges", ...outside.map((e) => `  ${describeErr(e.code)}`));
  return lines;
}

if (isMain(import.meta.url)) cli(TOOL, (a) => { for (const l of errorLines(a.positionals)) console.log(l); });
