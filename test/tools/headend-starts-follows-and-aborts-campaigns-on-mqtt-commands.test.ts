import { afterEach, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeProgramImage } from "../harness/scripted-concentrator";
import { imageFileOf } from "../../tools/image/image";
import { IMAGE_FILE_HEADER } from "../../firmware/common/image-file";
import { campaignReports as reports, commandRig, meterVersion as version, runUntil, until, type CommandRig } from "../fixtures/mqtt-commands";
import { packPayload } from "../../tools/image/packed";
import { hostNative } from "../../hal/host/native";
import { Rf } from "../../firmware/concentrator/registry";

const rigs: CommandRig[] = [];
afterEach(async () => { for (const r of rigs.splice(0)) await r.close(); });

/** An image file (npm run image's format) for the bench's LINUX meters, in the head-end's files folder. */
function heldImage(r: CommandRig, name: string, version: number, size = 3000): Buffer {
  const bytes = Buffer.from(imageFileOf(makeProgramImage(version, size, 200).bytes, "LINUX", version, 200));
  writeFileSync(join(r.files, name), bytes);
  return bytes;
}




describe("campaigns driven over MQTT (a concentrator network behind a console on TCP, the embedded broker)", () => {
  it("update uploads the held image into the concentrator's Storage and starts the campaign; progress is published to the end with each failed meter named; abort stops the next one", async () => {
    const r = await commandRig([2001, 2002, 2003], { id: 7 });
    rigs.push(r);
    const v2 = heldImage(r, "meter-v2.mlim", 2);
    // meter 2003 leaves the line: the campaign fails it by name
    r.net.rig.line.link("conc0", "m2003", { loss: 1 });

    const a = await r.send("meterline/7/cmd/update", { image: "meter-v2.mlim", imageId: 12, method: "patent", meters: [2001, 2002, 2003] });
    expect(a.topic).toBe("meterline/7/reply");
    const reply = JSON.parse(a.payload);
    expect(reply).toMatchObject({ command: "update", id: "c1", ok: true, imageId: 12, uploaded: [`img.bin (${v2.length} bytes)`] });
    expect(reply.lines).toEqual([`meterline: campaign 12 started: ${v2.length - IMAGE_FILE_HEADER} bytes, ${Math.ceil((v2.length - IMAGE_FILE_HEADER) / 200)} blocks, 3 meters`]);
    // written through the console session (base64 chunks, read back), then update() on it
    expect(Buffer.from(r.net.fake.storage.get("img.bin")!, "latin1")).toEqual(v2);
    expect(r.net.fake.received).toContain('meterline.update("img.bin",{"imageId":12,"meters":[2001,2002,2003],"method":"patent"})');
    expect(reply.campaign).toMatchObject({ imageId: 12, running: true, meters: 3, complete: 0, failed: 0 });

    await runUntil(r, () => reports(r).some((x) => !x.running), 10_000, 3_600_000);
    const seen = reports(r);
    const last = seen[seen.length - 1];
    expect(last).toMatchObject({ imageId: 12, phase: "done", running: false, meters: 3, complete: 2, failed: 1, code: 0, error: null });
    expect(last.failedMeters).toEqual([{ meter: 2003, code: 94, error: "CAMPAIGN_NO_ANSWER" }]);
    expect(last.round).toBeGreaterThan(0);
    expect(last.frames).toBeGreaterThan(0);
    // it moved through the phases on the way, each change published once, retained
    const phases = seen.map((x) => x.phase).filter((p, i, all) => p !== all[i - 1]);
    expect(phases.slice(0, 2)).toEqual(["control", "broadcast"]);
    expect(phases).toContain("activate");
    expect(phases.at(-1)).toBe("done");
    expect(new Set(seen.map((x) => JSON.stringify(x))).size).toBe(seen.length);
    expect([version(r, 2001), version(r, 2002), version(r, 2003)]).toEqual([2, 2, 1]);
    // once done, the head-end stops asking for progress
    const asked = r.net.fake.received.filter((l) => l === "meterline.progress()").length;
    await r.h.pullAll();
    expect(r.net.fake.received.filter((l) => l === "meterline.progress()").length).toBe(asked);

    // a second campaign, to v3, aborted while it runs
    r.net.rig.line.link("conc0", "m2003", { loss: 0 });
    heldImage(r, "meter-v3.mlim", 3, 6000);
    const b = JSON.parse((await r.send("meterline/7/cmd/update", { image: "meter-v3.mlim", imageId: 13 })).payload);
    expect(b).toMatchObject({ ok: true, imageId: 13, campaign: { imageId: 13, running: true } });
    await runUntil(r, () => (reports(r).at(-1)?.round ?? 0) >= 1, 1000, 120_000);
    const ab = await r.send("meterline/7/cmd/abort", {});
    expect(ab.topic).toBe("meterline/7/reply");
    expect(JSON.parse(ab.payload).campaign).toMatchObject({ imageId: 13, phase: "aborted", running: false });
    await runUntil(r, () => false, 60_000, 600_000); // ten minutes on: it stays aborted
    expect(reports(r).at(-1)).toMatchObject({ imageId: 13, phase: "aborted", running: false });
    expect([version(r, 2001), version(r, 2002)]).toEqual([2, 2]); // nobody runs v3
    // the retained campaign topic gives a later subscriber the last state
    const { default: mqtt } = await import("mqtt");
    const late = await mqtt.connectAsync(r.broker.url, { clientId: "late" });
    const retained: string[] = [];
    late.on("message", (_t, p) => retained.push(p.toString()));
    await late.subscribeAsync("meterline/7/campaign");
    await until(() => retained.length > 0);
    await late.endAsync();
    expect(JSON.parse(retained[0])).toMatchObject({ imageId: 13, phase: "aborted" });
    // and an aborted campaign leaves room for the next
    const c = await r.send("meterline/7/cmd/update", { image: "meter-v2.mlim", imageId: 14, meters: [2003] });
    expect(JSON.parse(c.payload)).toMatchObject({ ok: true, imageId: 14 });
    expect(readFileSync(join(r.files, "meter-v2.mlim"))).toEqual(v2);
  }, 180_000);

  it("identify asks the meters' IDENTITY; an update with a packed image goes only to meters that said their boot routine unpacks", async () => {
    const r = await commandRig([2201, 2202], { id: 7 });
    rigs.push(r);
    const plain = makeProgramImage(2, 6000, 200).bytes;
    writeFileSync(join(r.files, "packed-v2.mlim"), imageFileOf(packPayload(plain, 2048, { version: 2, board: r.net.rig.meters.get(2201)!.board.code, blockSize: 200 }, hostNative), "LINUX", 2, 200));
    // not identified yet: the campaign sends them nothing and names the code
    expect(JSON.parse((await r.send("meterline/7/cmd/update", { image: "packed-v2.mlim", imageId: 21 })).payload)).toMatchObject({ ok: true, imageId: 21 });
    await runUntil(r, () => reports(r).some((x) => x.imageId === 21 && !x.running && x.failedMeters.length === 2 && x.failedMeters.every((f: { meter: number }) => f.meter > 0)), 1000, 600_000);
    expect(reports(r).at(-1)!.failedMeters).toEqual([{ meter: 2201, code: 108, error: "BOOT_NO_UNPACK" }, { meter: 2202, code: 108, error: "BOOT_NO_UNPACK" }]);
    // identify: answered at once, the round runs on the line
    const a = JSON.parse((await r.send("meterline/7/cmd/identify", {})).payload);
    expect(a).toMatchObject({ command: "identify", ok: true, meter: null });
    // the round's end comes on meterline/7/identify
    const ended = () => r.got.filter((m) => m.topic === "meterline/7/identify").map((m) => JSON.parse(m.payload));
    await runUntil(r, () => ended().length > 0, 1000, 120_000);
    expect(ended()).toEqual([{ collected: 2, missed: 0, at: expect.any(Number) }]);
    const reg = r.net.conc.ctx.registry;
    expect([2201, 2202].map((id) => reg.flags(reg.find(id)) & Rf.UNPACKS)).toEqual([Rf.UNPACKS, Rf.UNPACKS]);
    // and now they take it, installed unpacked by their boot routines
    expect(JSON.parse((await r.send("meterline/7/cmd/update", { image: "packed-v2.mlim", imageId: 22 })).payload)).toMatchObject({ ok: true, imageId: 22 });
    await runUntil(r, () => reports(r).some((x) => x.imageId === 22 && !x.running), 10_000, 3_600_000);
    expect(reports(r).at(-1)).toMatchObject({ imageId: 22, phase: "done", complete: 2, failed: 0 });
    await runUntil(r, () => false, 60_000, 120_000);
    expect([version(r, 2201), version(r, 2202)]).toEqual([2, 2]);
  }, 180_000);
});
