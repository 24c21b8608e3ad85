import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunResult } from "../../bench/run";

const start = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "bench/start.ts", ...args], { encoding: "utf8", timeout: 120_000 });

describe("npm start (the bench's default scenario)", () => {
  it("ends with every meter on v2 and confirmed, every reading accounted for, the cuts made, and a report", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-"));
    const r = start(["--report", dir]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("bench: passed: every meter runs the new program, confirmed, and every reading is accounted for");
    const rep = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as RunResult;
    expect(rep.ok).toBe(true);
    expect(rep.scenario.keys).toBe(true); // keyed: the concentrator relayed the head-end's tags
    expect(rep.meters.length).toBe(8);
    for (const m of rep.meters) {
      expect(m.version, `meter ${m.id}`).toBe(2);
      expect(m.confirmed).toBe(true);
      expect(m.campaignState).toBe("activated");
      // 1002's outage: what it had not saved is lost from its register, its interval's pulses from the profile
      const lost = m.outage ?? { register: 0, profile: 0 };
      expect(m.register).toBe(m.pulses - lost.register);
      expect(m.registerAfter).toBe(m.register);
      expect(m.intervalSum).toBe(m.pulses - m.preClock - lost.profile);
      // keyed meters drop the time broadcast: the round time() starts gave each its own (and the
      // bench read on its own one the line kept from it); after its outage 1002 counts without a
      // clock until a reading round gives it the time again
      if (!m.outage) expect(m.preClock).toBe(0);
      expect(m.pulses).toBeGreaterThan(0);
      // the tariff (Central European Time, rate 2 from 07:00 to 22:00 on weekdays; the day is a
      // Tuesday from 01:00 local): an electricity meter's rates add up to its register, the day in two of them
      if (m.kind === "electricity") {
        expect(m.rates!.reduce((a, b) => a + b, 0), `meter ${m.id}`).toBe(m.registerAfter);
        expect(m.rates![0]).toBeGreaterThan(0);
        expect(m.rates![1]).toBeGreaterThan(m.rates![0]);
        expect(m.rates!.slice(2)).toEqual([0, 0]);
      } else expect(m.rates).toBeUndefined();
    }
    expect(rep.meters.find((m) => m.id === 1003)!.cuts[0]).toMatch(new RegExp(`^download, \\d+ of ${rep.image.blocks} blocks$`));
    expect(rep.image.blocks).toBe(Math.ceil(rep.image.size / 200));
    expect(rep.meters.find((m) => m.id === 1006)!.cuts).toEqual(["swap, op 25"]);
    // the outage: 45 minutes off at 10:30 into the day, timed by the meter's own POWER_UP event
    const o = rep.meters.find((m) => m.id === 1002)!;
    expect(o.cuts).toEqual(["outage, 2700 s"]);
    expect(o.outage!.register).toBeLessThanOrEqual(o.outage!.profile);
    expect(o.outage!.powerUps.filter((d) => d >= 2700 && d <= 2700 + 960)).toHaveLength(1);
    expect(rep.meters.filter((m) => m.id !== 1002).every((m) => !m.outage)).toBe(true);
    // the neighbouring concentrator's two meters: its own, v1, every reading in its own store, none in ours
    expect(rep.neighbour!.id).toBe(2);
    expect(rep.neighbour!.meters.map((m) => [m.id, m.home, m.version, m.session, m.inOurRegistry, m.inOurStore, m.register === m.pulses && m.pulses > 0])).toEqual([[2001, 2, 1, 0, false, 0, true], [2002, 2, 1, 0, false, 0, true]]);
    expect(rep.neighbour!.lines).toBeGreaterThan(100);
    expect(r.stdout).toMatch(/^neighbour: concentrator 2 on the same line, \d+ lines in its own store; its meters 2001 \(its own, v1, register \d+ of \d+ pulses\), 2002 /m);
    expect(r.stdout).toMatch(/^outage: meter 1002 off 2700 s, its POWER_UP events say /m);
    expect(rep.events.some((e) => e.text.includes("meter 1006: power back; boot routine finished the copy of image 2"))).toBe(true);
    // the image is the real meter bundle for the LINUX board
    expect(rep.image.source).toBe("bundle");
    expect(rep.image.size).toBe(16 + readFileSync("dist/LINUX/meter.js", "latin1").replace(/\n\/\/# sourceMappingURL=.*\s*$/, "").length);
    expect(rep.timeline.length).toBeGreaterThan(10);
    // what the report draws: each meter's blocks in every sample (1003 off after its cut), all of them at the end;
    // the cuts, power-backs and restarts by meter; what the concentrator heard each round; every meter's readings
    for (const s of rep.timeline) expect(s.held.length).toBe(8);
    expect(rep.timeline.some((s) => s.held[2] === -1)).toBe(true);
    expect(rep.timeline[rep.timeline.length - 1].held).toEqual(new Array(8).fill(rep.image.blocks));
    expect(rep.events.filter((e) => e.kind === "cut").map((e) => e.meter).sort()).toEqual([1002, 1003, 1006]);
    expect(rep.events.filter((e) => e.kind === "power-back").map((e) => e.meter).sort()).toEqual([1002, 1003, 1006]);
    expect(rep.events.filter((e) => e.kind === "restart").map((e) => e.meter).sort()).toEqual([1001, 1002, 1003, 1004, 1005, 1007, 1008]);
    expect(rep.rounds.length).toBeGreaterThan(0);
    rep.rounds.forEach((rd, k) => { expect(rd.round).toBeLessThanOrEqual(rep.campaign.rounds); if (k) expect(rd.round).toBeGreaterThan(rep.rounds[k - 1].round); });
    for (const rd of rep.rounds) for (const id of Object.keys(rd.need)) expect(rep.meters.map((m) => String(m.id))).toContain(id);
    // (the last round need not hear every meter complete: a keyed campaign no longer reads them
    // all back after a broadcast ACTIVATE they drop; the last sample above shows every block held)
    for (const rd of rep.rounds) for (const v of Object.values(rd.need)) expect(v).toBeGreaterThanOrEqual(0);
    for (const m of rep.meters) {
      const rd = rep.meterReadings.find((x) => x.id === m.id)!;
      expect(rd.intervals.length).toBe(m.intervals);
      expect(rd.intervals.reduce((a, [, v]) => a + v, 0)).toBe(m.intervalSum);
      expect(rd.registers[rd.registers.length - 1][1]).toBe(m.registerAfter);
    }
    expect(rep.airtimeByPhase.broadcast).toBeGreaterThan(0);
    expect(rep.airtimeByPhase.readings).toBeGreaterThan(0);
    const html = readFileSync(join(dir, "report.html"), "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain("Passed");
    expect(html).not.toMatch(/<script|src=|href="http/);
    // the events on the chart's own time axis: the power cuts in the campaign are marked there,
    // listed in seconds from its start; the meters table is shown once
    const cuts = rep.events.filter((e) => e.t >= rep.campaignStartS && /power/.test(e.text));
    expect(cuts.length).toBeGreaterThanOrEqual(2);
    // (the restarts are marked on the meters' lanes instead)
    // (the report's own tolerance: the end is noted at the last sample's time, a hair past it after the subtraction)
    expect((html.match(/class="event-mark"/g) ?? []).length).toBe(rep.events.filter((e) => e.kind !== "restart" && e.t >= rep.campaignStartS && e.t - rep.campaignStartS <= rep.timeline[rep.timeline.length - 1].t + 0.001).length);
    expect(html).toMatch(/<li>\+\d+\.\d s: meter 1003/);
    expect(html.split("<th>confirmed</th>").length).toBe(2);
  }, 120_000);

  it("exits 1 with the reason when no meter can be reached", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-"));
    const r = start(["bench/scenarios/unreachable.json", "--report", dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("bench: FAILED: 3 of 3 meters not updated: 2001, 2002, 2003 failed (E94 CAMPAIGN_NO_ANSWER: a meter stopped answering (per-meter limit))");
    expect(JSON.parse(readFileSync(join(dir, "report.json"), "utf8")).ok).toBe(false);
  }, 120_000);

  it("a concentrator forging the authorisation tags changes no meter's program: every meter refuses with 143, exit 1", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-"));
    const r = start(["bench/scenarios/forged-tags.json", "--report", dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("bench: FAILED: 3 of 3 meters not updated: 4001, 4002, 4003 failed (E143 AUTH_BAD_TAG: the authorisation tag does not match this meter, image, version and campaign)");
    const rep = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as RunResult;
    expect(rep.scenario.keys && rep.scenario.forgedTags).toBe(true);
    for (const m of rep.meters) {
      expect(m.version, `meter ${m.id}`).toBe(1);
      expect(m.campaignState).toBe("failed");
      expect(m.code).toBe(143);
      expect(m.register).toBe(m.pulses); // readings still flow: the link keys are genuine
    }
    expect(rep.campaign.blocks).toBe(0); // nobody took the control: nothing was broadcast
  }, 120_000);

  it("exits 2 naming the field of a bad scenario file", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-"));
    const f = join(dir, "bad.json");
    writeFileSync(f, JSON.stringify({ meters: [{ id: 1 }], loss: { p: 1.5 } }));
    const r = start([f]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("bench: bad scenario: scenario.loss.p: must be a number from 0 to 1, got 1.5");
  });
});
