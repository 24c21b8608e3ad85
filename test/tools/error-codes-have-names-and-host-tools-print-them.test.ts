import { afterEach, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { parseExport } from "../../tools/headend/core";
import { checkTable, describeErr, errName, errorTable, ERRORS_SOURCE, lookupErr, nameCodes, parseErrors } from "../../tools/errors/table";
import { main as consoleMain } from "../../tools/console/console";
import { startFakeConsole, type FakeConsole } from "../fixtures/fake-console";

const errors = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "tools/errors/errors.ts", ...args], { encoding: "utf8" });

/** Err's members and values as the TypeScript compiler sees them (what the device bundles inline). */
function compilerView(): { name: string; code: number }[] {
  const file = fileURLToPath(ERRORS_SOURCE);
  const program = ts.createProgram([file], { noEmit: true, noLib: true, types: [], target: ts.ScriptTarget.ES5 });
  const checker = program.getTypeChecker();
  const out: { name: string; code: number }[] = [];
  ts.forEachChild(program.getSourceFile(file)!, (n) => {
    if (ts.isEnumDeclaration(n) && n.name.text === "Err") {
      for (const m of n.members) out.push({ name: m.name.getText(), code: checker.getConstantValue(m) as number });
    }
  });
  return out;
}

const fakes: FakeConsole[] = [];
afterEach(async () => { for (const f of fakes.splice(0)) await f.close(); });

describe("the device's error codes: one table with names, meanings and ranges", () => {
  it("names every code the compiler sees, with the same number, and a one-line meaning", () => {
    const t = errorTable();
    const seen = compilerView();
    expect(seen.length).toBeGreaterThan(60);
    expect(t.codes.map((e) => ({ name: e.name, code: e.code }))).toEqual(seen);
    for (const e of t.codes) {
      expect(e.meaning, e.name).toMatch(/^\S.{5,}$/); // present, one line
      expect(lookupErr(e.code)).toBe(e);
      expect(lookupErr(e.name.toLowerCase())).toBe(e);
      expect(lookupErr(`E${e.code}`)).toBe(e);
    }
    expect(checkTable(t)).toEqual([]);
  });

  it("documents ranges that cover every code, without gaps in the rules: 35 and 36 in flash, 140 on in authentication", () => {
    const t = errorTable();
    expect(t.ranges.map((r) => `${r.lo}-${r.hi}`)).toEqual(["1-19", "20-39", "40-59", "60-79", "80-89", "90-99", "100-119", "120-139", "140-159"]);
    const rangeOf = (code: number) => t.ranges.find((r) => code >= r.lo && code <= r.hi)!.what;
    expect(rangeOf(35)).toBe("flash, regions and the record log");
    expect(rangeOf(36)).toBe("flash, regions and the record log");
    expect(rangeOf(94)).toBe("campaign");
    expect(rangeOf(143)).toBe("authentication");
    expect(readFileSync(ERRORS_SOURCE, "utf8")).not.toContain("tools/errors.ts");
  });

  it("the check fails when a code lacks its meaning, sits outside every range or out of order, or a name or number repeats", () => {
    const text = readFileSync(ERRORS_SOURCE, "utf8");
    const mutate = (from: string, to: string) => { expect(text).toContain(from); return checkTable(parseErrors(text.replace(from, to))); };
    expect(mutate("  /** Campaign: a meter stopped answering (per-meter limit). */\n", "")).toEqual(["CAMPAIGN_NO_ANSWER = 94 has no one-line doc comment saying what it means"]);
    expect(mutate("CAMPAIGN_NO_ANSWER = 94,", "CAMPAIGN_NO_ANSWER = 94, // no")).toEqual([expect.stringMatching(/^a line the host cannot read/)]);
    expect(mutate("AUTH_UNAVAILABLE = 145,", "AUTH_UNAVAILABLE = 175,")).toContain("AUTH_UNAVAILABLE = 175 is in no range of the header comment");
    expect(mutate("RECORD_TOO_LONG = 35,", "RECORD_TOO_LONG = 34,")).toEqual(expect.arrayContaining(["number 34 is used twice"]));
    expect(mutate("LINK_NAK = 41,", "LINK_BUSY = 41,")).toEqual(["name LINK_BUSY is used twice"]);
    expect(mutate(" *   140-159 authentication\n", "")).toContain("AUTH_REQUIRED = 140 is in no range of the header comment");
  });

  it("describes a code by number, and names the codes in a device's lines", () => {
    expect(describeErr(94)).toBe("E94 CAMPAIGN_NO_ANSWER: a meter stopped answering (per-meter limit)");
    expect(errName(143)).toBe("E143 AUTH_BAD_TAG");
    expect(errName(250)).toBe("E250 (unknown code)");
    const named = nameCodes("meterline: campaign aborted, round 3, 0 of 2 meters updated, 2 failed, E92");
    expect(named).toBe("meterline: campaign aborted, round 3, 0 of 2 meters updated, 2 failed, E92 CAMPAIGN_NO_PROGRESS: no meter made progress for the configured number of rounds");
    expect(nameCodes(named)).toBe(named); // named once only
    expect(nameCodes("meterline boot: new program did not start (E107), reverting")).toBe("meterline boot: new program did not start (E107 BOOT_APP_SILENT: a new program on trial did not say it had started (global.mlUp) by the start deadline: reverted), reverting");
    expect(nameCodes("E250 and 0xE94 and E0 stay")).toBe("E250 and 0xE94 and E0 stay");
    // a campaign's end line: each code's meaning once, then its name only
    const end = nameCodes("meterline: campaign 3 ended: 0 of 3 meters updated; failed: 1001 E144 1002 E94 1003 E144");
    expect(end).toBe(`meterline: campaign 3 ended: 0 of 3 meters updated; failed: 1001 ${describeErr(144)} 1002 ${describeErr(94)} 1003 E144 AUTH_NO_TAG`);
    expect(nameCodes(end)).toBe(end);
  });

  it("the head-end names the code of a refused export", () => {
    expect(() => parseExport(["meterline: busy: a campaign or a round is running (E93)"], 0)).toThrow(/^export refused: meterline: busy: a campaign or a round is running \(E93 CAMPAIGN_ABORTED: /);
  });
});

describe("npm run errors", () => {
  it("looks a code up by number or name, lists them all by range, and refuses an unknown one with exit 1", () => {
    const one = errors("94");
    expect(one.status).toBe(0);
    expect(one.stdout).toBe("E94 CAMPAIGN_NO_ANSWER: a meter stopped answering (per-meter limit)\n");
    expect(errors("campaign_no_answer", "E143").stdout).toBe("E94 CAMPAIGN_NO_ANSWER: a meter stopped answering (per-meter limit)\nE143 AUTH_BAD_TAG: the authorisation tag does not match this meter, image, version and campaign\n");
    const all = errors();
    expect(all.status).toBe(0);
    const lines = all.stdout.trim().split("\n");
    for (const e of errorTable().codes) expect(lines).toContain(`  ${describeErr(e.code)}`);
    expect(lines).toContain("90-99 campaign");
    expect(lines.indexOf("90-99 campaign")).toBeLessThan(lines.indexOf(`  ${describeErr(94)}`));
    const bad = errors("94", "999");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('errors: no error code "999" (npm run errors lists them all)\n');
  });
});

describe("host output names the device's codes", () => {
  it("npm run console prints a command's lines with the codes named", async () => {
    const fake = await startFakeConsole({
      globals: (c) => ({ meterline: { update() { c.print("meterline: a campaign is already running (E93)"); return 93; }, progress() { c.print("meterline: campaign aborted, round 2, 80 blocks, 6 polls, 100 frames, 18000 bytes, 0 of 3 meters updated, 3 failed, E94"); return 0; } } }),
    });
    fakes.push(fake);
    const out: string[] = [], err: string[] = [];
    const code = await consoleMain(["--port", fake.url, 'meterline.update("img.bin",{imageId:2})', "meterline.progress()"], (l) => out.push(l), (l) => err.push(l));
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toEqual([
      "meterline: a campaign is already running (E93 CAMPAIGN_ABORTED: aborted by the operator, or refused because a campaign or a collection round is running)",
      "=93",
      "meterline: campaign aborted, round 2, 80 blocks, 6 polls, 100 frames, 18000 bytes, 0 of 3 meters updated, 3 failed, E94 CAMPAIGN_NO_ANSWER: a meter stopped answering (per-meter limit)",
      "=0",
    ]);
  });
});
