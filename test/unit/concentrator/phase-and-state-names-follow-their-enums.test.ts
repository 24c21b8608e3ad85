import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { PHASE_NAMES, STATE_NAMES } from "../../../firmware/concentrator/campaign";

const CAMPAIGN = fileURLToPath(new URL("../../../firmware/concentrator/campaign.ts", import.meta.url));

/** The members of const enum `name` in campaign.ts and their values, as the compiler sees them (what bundles inline). */
function enumView(name: string): { member: string; value: number }[] {
  const program = ts.createProgram([CAMPAIGN], { noEmit: true, noLib: true, types: [], target: ts.ScriptTarget.ES5, noResolve: true });
  const checker = program.getTypeChecker();
  const out: { member: string; value: number }[] = [];
  ts.forEachChild(program.getSourceFile(CAMPAIGN)!, (n) => {
    if (ts.isEnumDeclaration(n) && n.name.text === name) for (const m of n.members) out.push({ member: m.name.getText(), value: checker.getConstantValue(m) as number });
  });
  return out;
}

/** ACTIVATION_PENDING -> "activation pending"; READBACK -> "read-back" is the one spelled apart. */
const spoken = (member: string) => (member === "READBACK" ? "read-back" : member.toLowerCase().replace(/_/g, " "));

describe("the campaign's phase and state names", () => {
  it("name every phase of Ph by its value, in the enum's words", () => {
    const ph = enumView("Ph");
    expect(ph.length).toBeGreaterThan(8);
    expect(PHASE_NAMES.length).toBe(ph.length);
    for (const { member, value } of ph) expect(PHASE_NAMES[value], `Ph.${member}`).toBe(spoken(member));
  });

  it("name every state of Ms by its value, in the enum's words, and nothing else", () => {
    const ms = enumView("Ms");
    expect(ms.length).toBeGreaterThan(6);
    expect(Object.keys(STATE_NAMES).map(Number).sort((a, b) => a - b)).toEqual(ms.map((m) => m.value).sort((a, b) => a - b));
    for (const { member, value } of ms) expect(STATE_NAMES[value], `Ms.${member}`).toBe(spoken(member));
  });
});
