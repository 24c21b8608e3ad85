import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const file = (p: string) => fileURLToPath(new URL(`../../../firmware/${p}`, import.meta.url));
const CATALOGUE = file("protocol/catalogue.ts"), UPDATE = file("meter/update.ts"), TRIAL = file("meter/trial.ts");

/** One program over the three files: each const enum's members and values as the compiler sees them (what bundles inline). */
const program = ts.createProgram([CATALOGUE, UPDATE, TRIAL], {
  noEmit: true, noLib: true, types: [], target: ts.ScriptTarget.ES5, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
});
const checker = program.getTypeChecker();
function enumView(path: string, name: string): [string, number][] {
  const out: [string, number][] = [];
  ts.forEachChild(program.getSourceFile(path)!, (n) => {
    if (ts.isEnumDeclaration(n) && n.name.text === name) for (const m of n.members) out.push([m.name.getText(), checker.getConstantValue(m) as number]);
  });
  return out;
}

describe("the meter's update states and install outcomes", () => {
  it("are the catalogue's values for STATUS_REPORT, DEFICIT and VERSION's state, member by member", () => {
    const us = enumView(UPDATE, "Us");
    expect(us.length).toBe(6);
    expect(us.every(([, v]) => typeof v === "number")).toBe(true);
    expect(us).toEqual(enumView(CATALOGUE, "Ust"));
    expect(us[0]).toEqual(["IDLE", 0]); // the DEFICIT of a meter without a session: the concentrator reads Ust.IDLE
  });

  it("are the catalogue's values for UPDATE_RESULT's outcome, member by member", () => {
    const outcome = enumView(TRIAL, "Outcome");
    expect(outcome.length).toBe(4);
    expect(outcome.every(([, v]) => typeof v === "number")).toBe(true);
    expect(outcome).toEqual(enumView(CATALOGUE, "Uo"));
  });
});
