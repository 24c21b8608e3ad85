/*
 * resume over MQTT: a paused campaign goes on; a campaign that a restart of the concentrator
 * interrupted is resumed with the image file the head-end uploaded for it (and, when the
 * concentrator says its meters are keyed, the tags file beside it); with nothing to resume
 * the refusal is the answer.
 */
import { afterEach, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeProgramImage } from "../harness/scripted-concentrator";
import { imageFileOf } from "../../tools/image/image";
import { campaignReports as reports, commandRig, meterVersion as version, runUntil, type CommandRig } from "../fixtures/mqtt-commands";
import { Headend, type ConcentratorConsole } from "../../tools/headend/core";
import type { Answer } from "../../tools/console/session";
import type { ReadingsDb } from "../../tools/headend/core";

const rigs: CommandRig[] = [];
afterEach(async () => { for (const r of rigs.splice(0)) await r.close(); });




describe("resume over MQTT", () => {
  it("continues a campaign a restart of the concentrator interrupted, with the image the head-end uploaded, to every meter updated; and refuses, named, when there is nothing to resume", async () => {
    const r = await commandRig([2101, 2102, 2103], { id: 7 });
    rigs.push(r);
    // nothing interrupted, nothing paused: the concentrator's refusal, named
    const none = await r.send("meterline/7/cmd/resume", {});
    expect(none.topic).toBe("meterline/7/error");
    expect(JSON.parse(none.payload)).toMatchObject({ command: "resume", error: "UPDATE_NO_SESSION", code: 85 });

    writeFileSync(join(r.files, "v2.mlim"), Buffer.from(imageFileOf(makeProgramImage(2, 8000, 200).bytes, "LINUX", 2, 200)));
    const a = JSON.parse((await r.send("meterline/7/cmd/update", { image: "v2.mlim", imageId: 31, method: "patent" })).payload);
    expect(a).toMatchObject({ ok: true, imageId: 31, campaign: { running: true } });
    await runUntil(r, () => (reports(r).at(-1)?.round ?? 0) >= 1, 1000, 600_000);
    expect(reports(r).at(-1)).toMatchObject({ imageId: 31, running: true });

    // the concentrator restarts: its campaign is interrupted, its checkpoint and img.bin kept
    r.net.restart();
    await r.h.pullAll();
    expect(r.net.conc.ctx.campaign()).toBeNull();
    const before = r.net.fake.received.length;
    const b = await r.send("meterline/7/cmd/resume", {});
    expect(b.topic).toBe("meterline/7/reply");
    const reply = JSON.parse(b.payload);
    expect(reply).toMatchObject({ command: "resume", ok: true, lines: ["meterline: campaign 31 resumed for 3 meters"], campaign: { imageId: 31, running: true } });
    // first the paused campaign's resume, then the interrupted one's with the uploaded image
    expect(r.net.fake.received.slice(before).filter((l) => l.startsWith("meterline.resume"))).toEqual(["meterline.resume()", 'meterline.resume("img.bin")']);

    await runUntil(r, () => reports(r).some((x) => x.imageId === 31 && !x.running), 10_000, 3_600_000);
    expect(reports(r).at(-1)).toMatchObject({ imageId: 31, phase: "done", running: false, meters: 3, complete: 3, failed: 0 });
    expect([2101, 2102, 2103].map((id) => version(r, id))).toEqual([2, 2, 2]);

  }, 240_000);

  it("passes the tags file when the concentrator says the interrupted campaign's meters are keyed (AUTH_NO_TAG)", async () => {
    // a console that answers as a concentrator with a keyed campaign interrupted does
    const asked: string[] = [];
    const answers: Record<string, Answer> = {
      "meterline.config.id": { lines: [], value: "9" },
      "meterline.resume()": { lines: ["meterline: no campaign (E85)"], value: "85" },
      'meterline.resume("img.bin")': { lines: ["meterline: keyed meters: resume(file, tags) (E144)"], value: "144" },
      'meterline.resume("img.bin","img.tags")': { lines: ["meterline: campaign 40 resumed for 2 meters"], value: "0" },
      "meterline.progress()": { lines: ["meterline: no campaign"], value: "85" },
    };
    const con: ConcentratorConsole = {
      port: "scripted",
      async command(js: string) { asked.push(js); return answers[js] ?? { lines: [], value: "0" }; },
      async close() { /* nothing held */ },
    } as ConcentratorConsole;
    const db = { file: "none", concentrator() {}, setStatus() {}, cursor: () => 0, store: () => [], meters() {}, registers: () => [], overview: () => ({ concentrators: [], meters: [], last: [] }), series: () => [], close() {} } as unknown as ReadingsDb;
    const h = new Headend({ db, timeoutMs: 1000 });
    const at = await h.attach(con);
    const out = await at.run({ name: "resume" });
    expect(out.lines).toEqual(["meterline: campaign 40 resumed for 2 meters"]);
    expect(asked.filter((l) => l.startsWith("meterline.resume"))).toEqual(["meterline.resume()", 'meterline.resume("img.bin")', 'meterline.resume("img.bin","img.tags")']);
    // a refusal other than "keyed" is the answer, without a third try
    answers['meterline.resume("img.bin")'] = { lines: ['meterline: "img.bin" is not the image of campaign 40 (E87)'], value: "87" };
    asked.length = 0;
    await expect(at.run({ name: "resume" })).rejects.toMatchObject({ error: "UPDATE_DIGEST", code: 87 });
    expect(asked.filter((l) => l.startsWith("meterline.resume"))).toEqual(["meterline.resume()", 'meterline.resume("img.bin")']);
    await h.stop();
  });
});
