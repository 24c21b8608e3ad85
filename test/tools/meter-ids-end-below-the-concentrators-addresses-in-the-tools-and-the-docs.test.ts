/*
 * A meter id is 1 to Id.MAX_METER (P.CONC_BASE - 1 = 4,294,901,759): the addresses from
 * P.CONC_BASE up are concentrators'. The host tools refuse a meter id above it, and the
 * glossary and flash.sh's help say the same number.
 */
import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Id, P } from "../../firmware/protocol/catalogue";
import { parseArgs as deployArgs } from "../../tools/deploy/deploy";
import { parseScenario, ScenarioError } from "../../bench/scenario";
import { parseCommand } from "../../tools/headend/commands";
import { parseIds } from "../../tools/keys/keys";
import { UsageError } from "../../tools/cli/cli";

const CONC = P.CONC_BASE + 1; // concentrator 1's address

/** The message a call throws, after checking its class. */
function thrown(f: () => unknown, cls: new (...a: never[]) => Error): string {
  try { f(); } catch (e) { expect(e).toBeInstanceOf(cls); return (e as Error).message; }
  return "";
}

describe("meter ids", () => {
  it("end just below the concentrators' addresses", () => {
    expect(Id.MAX_METER).toBe(P.CONC_BASE - 1);
    expect(Id.MAX_METER).toBe(4294901759);
  });

  it("deploy refuses one in the concentrator range and takes the largest", () => {
    const args = (m: number) => ["--port", "/dev/x", "--image", "package.json", "--image-id", "1", "--meters", `5,${m}`];
    expect(thrown(() => deployArgs(args(CONC)), UsageError)).toBe(`--meters must be a whole number from 1 to 4294901759, got "${CONC}"`);
    expect(thrown(() => deployArgs(args(P.CONC_BASE)), UsageError)).toMatch(/^--meters must be a whole number from 1 to 4294901759/);
    // the largest passes the id check: what stops it is the image (package.json is none)
    expect(thrown(() => deployArgs(args(Id.MAX_METER)), UsageError)).toMatch(/^--image package\.json: not an update image/);
  });

  it("a scenario refuses one in the concentrator range, for a meter and for a cut, and takes the largest", () => {
    expect(thrown(() => parseScenario({ meters: [{ id: CONC }] }), ScenarioError)).toBe(`scenario.meters[0].id: must be a whole number from 1 to 4294901759, got ${CONC}`);
    expect(thrown(() => parseScenario({ meters: [{ id: 1 }], cuts: [{ meter: P.CONC_BASE, during: "download" }] }), ScenarioError)).toMatch(/^scenario\.cuts\[0\]\.meter: must be a whole number from 1 to 4294901759/);
    expect(parseScenario({ meters: [{ id: Id.MAX_METER }] }).meters[0].id).toBe(Id.MAX_METER);
  });

  it("the head-end's commands and the key tool refuse one in the concentrator range", () => {
    expect(() => parseCommand("read", JSON.stringify({ meter: CONC }))).toThrow(`read: meter must be a meter id from 1 to 4294901759, got ${CONC}`);
    expect(parseCommand("read", JSON.stringify({ meter: Id.MAX_METER }))).toMatchObject({ meter: Id.MAX_METER });
    expect(() => parseCommand("update", JSON.stringify({ image: "a.mlim", imageId: 2, meters: [1, CONC] }))).toThrow(/^update: meters must be "outdated" or a list of different meter ids/);
    expect(parseCommand("update", JSON.stringify({ image: "a.mlim", imageId: 2, meters: [1, Id.MAX_METER] }))).toMatchObject({ meters: [1, Id.MAX_METER] });
    expect(thrown(() => parseIds(`${Id.MAX_METER}-${CONC}`), UsageError)).toMatch(/out of range/);
    expect(parseIds(String(Id.MAX_METER))).toEqual([Id.MAX_METER]);
  });

  it("the glossary and flash.sh's help say 1 to 4,294,901,759", () => {
    const glossary = readFileSync("docs/howto.md", "utf8").split("\n").find((l) => l.startsWith("| **meter id** |"))!;
    expect(glossary).toContain("1 to 4,294,901,759");
    expect(glossary).not.toMatch(/4,294,967,29[45]/);
    const help = execFileSync("bash", ["flash.sh", "--help"], { encoding: "utf8" });
    expect(help).toContain(`a meter's, 1 to ${Id.MAX_METER}`);
    const noId = spawnSync("bash", ["flash.sh", "--board", "LINUX", "--role", "meter", "--dry-run", "/tmp/x"], { encoding: "utf8" });
    expect(noId.stderr).toContain(`a meter's 1 to ${Id.MAX_METER}`);
  });
});
