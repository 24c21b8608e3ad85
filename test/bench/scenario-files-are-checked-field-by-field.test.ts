import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadScenario, parseScenario, ScenarioError } from "../../bench/scenario";

const ok = { meters: [{ id: 1 }, { id: 2, kind: "water" }] };
const bad = (patch: Record<string, unknown>) => { try { parseScenario({ ...ok, ...patch }); return ""; } catch (e) { expect(e).toBeInstanceOf(ScenarioError); return (e as Error).message; } };

describe("scenario files", () => {
  it("fill defaults for what they leave out", () => {
    const s = parseScenario(ok);
    expect(s.modem).toBe("st7580");
    expect(s.bitRate).toBe(9600);
    expect(s.meters[0]).toMatchObject({ id: 1, kind: "electricity", pulsesPerHour: 500 });
    expect(s.image).toEqual({ source: "bundle", size: 0, blockSize: 200, version: 2, compress: false });
    expect(s.readings).toEqual({ hours: 24, readingMinutes: 15 });
    expect(parseScenario({ ...ok, modem: "transparent" }).bitRate).toBe(2400);
  });

  it("name the first bad field", () => {
    expect(bad({ meters: [] })).toBe("scenario.meters: must be a list of 1 to 1000 meters");
    expect(bad({ meters: [{ id: 1 }, { id: 1 }] })).toBe("scenario.meters[1].id: meter 1 is listed twice");
    expect(bad({ meters: [{ id: 1.5 }] })).toBe("scenario.meters[0].id: must be a whole number from 1 to 4294901759, got 1.5");
    expect(bad({ meters: [{ id: 1, kind: "steam" }] })).toBe('scenario.meters[0].kind: must be "electricity" or "water" or "gas", got "steam"');
    expect(bad({ meters: [{ id: 1, attach: "COM3" }] })).toBe('scenario.meters[0].attach: must be a serial device path (/dev/...) or tcp://host:port, got "COM3"');
    expect(bad({ modem: "wifi" })).toBe('scenario.modem: must be "st7580" or "transparent", got "wifi"');
    expect(bad({ loss: { p: -0.1 } })).toBe("scenario.loss.p: must be a number from 0 to 1, got -0.1");
    expect(bad({ loss: { p: 0.1, burst: 3 } })).toBe("scenario.loss.burst: unknown field (known: p, meanBurst)");
    expect(bad({ image: { blockSize: 202 } })).toBe("scenario.image.blockSize: must be a multiple of 4, got 202");
    expect(bad({ image: { source: "synthetic" } })).toBe("scenario.image.size: must be a whole number from 17 to 40944 (missing)");
    expect(bad({ tariff: { weekdays: "07:00=2" } })).toBe('scenario.tariff.weekdays: must be up to four "HH:MM=rate" switches from "00:00" on quarter hours, in order, rates 1 to 4, got "07:00=2"');
    expect(bad({ tariff: { weekdays: "00:00=1 07:10=2" } })).toMatch(/^scenario\.tariff\.weekdays: must be up to four/);
    expect(bad({ tariff: { weekdays: "00:00=1", zoneMinutes: 61 } })).toBe("scenario.tariff.zoneMinutes: must be whole quarter hours, got 61");
    expect(bad({ tariff: { weekdays: "00:00=1", dst: "US" } })).toBe('scenario.tariff.dst: must be "EU" or "none", got "US"');
    expect(bad({ image: { source: "bundle", size: 100 } })).toBe("scenario.image.size: only for a synthetic image (a bundle image has the bundle's size)");
    expect(bad({ cuts: [{ meter: 9, during: "swap" }] })).toBe("scenario.cuts[0].meter: meter 9 is not in scenario.meters");
    expect(bad({ cuts: [{ meter: 1, during: "lunch" }] })).toBe('scenario.cuts[0].during: must be "download" or "swap" or "readings", got "lunch"');
    expect(bad({ cuts: [{ meter: 1, during: "readings" }] })).toBe("scenario.cuts[0].atHour: must be a number from 0.5 to 23 (missing)");
    expect(bad({ cuts: [{ meter: 1, during: "readings", atHour: 23.5 }] })).toBe("scenario.cuts[0].atHour: must be a number from 0.5 to 23, got 23.5");
    expect(bad({ neighbour: { id: 1, meters: [{ id: 3 }] } })).toBe("scenario.neighbour.id: must not be 1, our concentrator's id");
    expect(bad({ neighbour: { id: 70000, meters: [{ id: 3 }] } })).toBe("scenario.neighbour.id: must be a whole number from 1 to 65534, got 70000");
    expect(bad({ neighbour: { id: 2, meters: [] } })).toBe("scenario.neighbour.meters: must be a list of 1 to 100 meters");
    expect(bad({ neighbour: { id: 2, meters: [{ id: 2 }] } })).toBe("scenario.neighbour.meters[0].id: meter 2 is listed twice");
    expect(bad({ neighbour: { id: 2, meters: [{ id: 3, attach: "/dev/pts/9" }] } })).toBe("scenario.neighbour.meters[0].attach: unknown field (known: id, kind, pulsesPerHour)");
    expect(bad({ neighbour: { id: 2, meters: [{ id: 3 }] }, cuts: [{ meter: 3, during: "swap" }] })).toBe("scenario.cuts[0].meter: meter 3 is not in scenario.meters");
    const n = parseScenario({ ...ok, neighbour: { id: 2, meters: [{ id: 3, kind: "gas", pulsesPerHour: 10 }] }, cuts: [{ meter: 1, during: "readings", atHour: 2 }] });
    expect([n.neighbour, n.cuts[0]]).toEqual([{ id: 2, meters: [{ id: 3, kind: "gas", pulsesPerHour: 10, loss: undefined, attach: undefined }] }, { meter: 1, during: "readings", atFraction: 0, atOperation: 0, atHour: 2, offSeconds: 30 }]);
    expect(parseScenario(ok).neighbour).toBeNull();
    expect(bad({ meters: [{ id: 1, attach: "/dev/pts/9" }], cuts: [{ meter: 1, during: "swap" }] })).toBe("scenario.cuts[0].meter: meter 1 is a real board: the bench cannot cut its power");
    expect(bad({ seed: "x" })).toBe('scenario.seed: must be a whole number from 0 to 4294967295, got "x"');
    expect(bad({ colour: 1 })).toMatch(/^scenario\.colour: unknown field/);
    expect(bad({ keys: "yes" })).toBe('scenario.keys: must be true or false, got "yes"');
    expect(bad({ keys: false, forgedTags: true })).toBe("scenario.forgedTags: needs keys: true");
    expect(bad({ meters: [{ id: 1, attach: "/dev/pts/3" }], keys: true })).toMatch(/^scenario\.keys: boards in the loop carry the keys flash\.sh --keys gave them/);
    expect(parseScenario({ meters: [{ id: 1, attach: "/dev/pts/3" }] }).keys).toBe(false);
  });

  it("say when the file cannot be read or is not JSON", () => {
    expect(() => loadScenario("/nonexistent/s.json")).toThrow("/nonexistent/s.json: cannot read it (ENOENT)");
    const f = join(mkdtempSync(join(tmpdir(), "sc-")), "s.json");
    writeFileSync(f, "{ meters: ");
    expect(() => loadScenario(f)).toThrow(/s\.json: not JSON: /);
  });

  it("the shipped scenarios are valid", () => {
    for (const f of ["default", "unreachable", "forged-tags"]) expect(() => loadScenario(`bench/scenarios/${f}.json`)).not.toThrow();
  });
});
