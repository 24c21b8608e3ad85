/*
 * Where a board profile's rolesWhy or the docs say how many regions a role needs ("a meter
 * needs eight independently erasable regions and a concentrator two"), the number is the
 * layout's: firmware/common/layout.ts roleRegions.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { roleRegions } from "../../../firmware/common/layout";
import { loadAllProfiles } from "../../../tools/profiles/profiles";

const ROOT = join(import.meta.dirname, "../../..");
const WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];

/** Each "<role> [needs] N" in a sentence that speaks of regions needed: [role, N, the sentence]. */
function regionCounts(text: string): [string, number, string][] {
  const out: [string, number, string][] = [];
  for (const sentence of text.replace(/\s+/g, " ").split(/(?<=\.) /)) {
    if (!/\bneeds?\b/.test(sentence) || !/\bregions\b/.test(sentence)) continue;
    const re = new RegExp(`\\b(meter|concentrator) (?:needs )?(${WORDS.join("|")}|\\d+)(?= independently| regions| \\(|,|\\.| and\\b)`, "g");
    for (const m of sentence.matchAll(re)) out.push([m[1], /\d/.test(m[2]) ? Number(m[2]) : WORDS.indexOf(m[2]), sentence]);
  }
  return out;
}

describe("how many regions a role needs", () => {
  it("is read from the sentences that say it", () => {
    expect(regionCounts("A meter needs eight independently erasable regions and a concentrator three, so it takes no role.").map(([r, n]) => [r, n])).toEqual([["meter", 8], ["concentrator", 3]]);
    expect(regionCounts("A meter needs at least 14 for its regions and a concentrator at least 3 plus 2,950 variables.")).toEqual([]); // pages, not regions
  });

  it("is the layout's in every board profile's rolesWhy, the boards' README and docs/howto.md", () => {
    const texts: [string, string][] = [
      ...loadAllProfiles().map((p) => [`board-profiles/${p.board}.json rolesWhy`, p.rolesWhy] as [string, string]),
      ...["board-profiles/README.md", "docs/howto.md"].map((f) => [f, readFileSync(join(ROOT, f), "utf8")] as [string, string]),
    ];
    const found = texts.flatMap(([where, text]) => regionCounts(text).map(([role, n, s]) => ({ where, role, n, s })));
    expect(found.filter((f) => f.role === "meter").length).toBeGreaterThanOrEqual(3); // the sentences are there to check
    for (const f of found) expect(`${f.where}: ${f.role} ${f.n}`, f.s).toBe(`${f.where}: ${f.role} ${roleRegions(f.role).length}`);
  });
});
