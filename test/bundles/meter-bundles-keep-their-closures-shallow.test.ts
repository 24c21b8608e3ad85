/*
 * On 2v29 a function made inside two or more nested scopes carries its own copy of the
 * scope chain: an array and one name per level (docs/meter.md, Memory). The meter
 * programs are therefore top-level code (no IIFE) and their parts are built by top-level
 * functions the minifier does not inline (NOINLINE marks). This counts the functions
 * written two or more functions deep in the shipped bundles: an IIFE around a program, or
 * inlined parts, roughly double it (76 before these changes on the Original's bundle).
 * 57 since issue 20's time of use: the local-time and day-of-month helpers (calendar.ts)
 * are inlined into the quarter-hour check as two IIFEs, whose scope copies live only
 * during that call; kept as top-level functions they held about 12 variables for good
 * (measured with bench:memory), which the Original cannot spare. The keyed boards' bundle
 * (LINUX) 60 since issue 20's key rotation: the key on its way and its commit, two closures
 * of the authoriser handed to the link, and the rotation tag's input inlined into the rotation
 * (a scope copy only during that call); the Original carries no authentication.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parse } from "acorn";

function depths(file: string): number[] {
  const ast = parse(readFileSync(file, "latin1"), { ecmaVersion: 5 }) as any;
  const hist: number[] = [];
  const stack: [any, number][] = [[ast, 0]];
  while (stack.length) {
    const [n, d] = stack.pop()!;
    let inner = d;
    if (n.type === "FunctionDeclaration" || n.type === "FunctionExpression") { hist[d] = (hist[d] ?? 0) + 1; inner = d + 1; }
    for (const k of Object.keys(n)) {
      const v = n[k];
      if (Array.isArray(v)) { for (const c of v) if (c && typeof c.type === "string") stack.push([c, inner]); }
      else if (v && typeof v.type === "string") stack.push([v, inner]);
    }
  }
  return hist;
}

describe("meter bundles keep their closures shallow", () => {
  for (const [board, most] of [["ESPRUINOBOARD", 57], ["LINUX", 60]] as const) {
    it(`${board}: the program is top-level code, and at most ${most} functions sit two or more functions deep`, () => {
      const h = depths(`dist/${board}/meter.js`);
      expect(h[0]).toBeGreaterThan(40); // the parts' builders are top-level functions
      const deep = h.slice(2).reduce((a, b) => a + (b ?? 0), 0);
      expect(deep).toBeLessThanOrEqual(most);
    });
  }

  it("the boot routine is an IIFE: its code is garbage once the program runs", () => {
    expect(readFileSync("dist/ESPRUINOBOARD/boot.js", "latin1").startsWith("!function(){")).toBe(true);
  });
});
