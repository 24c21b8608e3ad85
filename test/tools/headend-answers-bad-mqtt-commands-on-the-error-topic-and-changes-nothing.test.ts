import { afterEach, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeProgramImage } from "../harness/scripted-concentrator";
import { imageFileOf } from "../../tools/image/image";
import { COMMAND_ERRORS, parseCommand, CommandError } from "../../tools/headend/commands";
import { commandRig, type CommandRig } from "../fixtures/mqtt-commands";

const rigs: CommandRig[] = [];
afterEach(async () => { for (const r of rigs.splice(0)) await r.close(); });

/** What a refused command must not change: the concentrator's Storage and campaign, the writes and updates it was sent, the campaign and reply topics. */
function state(r: CommandRig) {
  return {
    storage: [...r.net.fake.storage.entries()].map(([k, v]) => `${k}:${v.length}`).sort(),
    campaign: r.net.conc.ctx.campaign()?.phase() ?? null,
    sent: r.net.fake.received.filter((l) => /meterline\.update\(|S\.write\(/.test(l)).length,
    published: r.got.filter((m) => m.topic === "meterline/7/campaign" || m.topic === "meterline/7/reply").length,
  };
}

describe("bad commands over MQTT (a concentrator network behind a console on TCP, the embedded broker)", () => {
  it("answers each on meterline/<concentrator>/error with its name and a one-line message, and changes nothing", async () => {
    const r = await commandRig([3001, 3002], { id: 7 });
    rigs.push(r);
    writeFileSync(join(r.files, "v2.mlim"), imageFileOf(makeProgramImage(2, 2000, 200).bytes, "LINUX", 2, 200));
    writeFileSync(join(r.files, "notes.txt"), "not an image at all, just some text long enough to have a header's worth of bytes");
    writeFileSync(join(r.files, "short.tags"), Buffer.alloc(39));
    const before = state(r);

    const cases: [topic: string, payload: string | Record<string, unknown>, error: string, message: RegExp][] = [
      ["meterline/7/cmd/reboot", {}, "UNKNOWN_COMMAND", /^unknown command "reboot" \(the commands: read, identify, update, pause, resume, abort\)$/],
      ["meterline/7/cmd/update/now", {}, "UNKNOWN_COMMAND", /^unknown command "update\/now"/],
      ["meterline/7/cmd/update", "{image: v2.mlim", "BAD_JSON", /^update: the payload is not JSON \(/],
      ["meterline/7/cmd/read", "[1001]", "BAD_JSON", /^read: the payload must be a JSON object, got \[1001\]$/],
      ["meterline/77/cmd/read", {}, "UNKNOWN_CONCENTRATOR", /^no concentrator 77 is attached \(attached: 7\)$/],
      ["meterline/7/cmd/update", { image: "v2.mlim" }, "BAD_ARGUMENT", /^update: imageId must be a whole number from 1 to 65535/],
      ["meterline/7/cmd/update", { image: "v2.mlim", imageId: 3, methd: "patent" }, "BAD_ARGUMENT", /^update: unknown field "methd" \(its fields: image, tags, imageId/],
      ["meterline/7/cmd/update", { image: "v2.mlim", imageId: 3, method: "fast" }, "BAD_ARGUMENT", /^update: method must be "coded" or "patent", got "fast"$/],
      ["meterline/7/cmd/update", { image: "v2.mlim", imageId: 3, meters: [3001], group: 2 }, "BAD_ARGUMENT", /^update: give meters or group, not both$/],
      ["meterline/7/cmd/update", { image: "../../etc/passwd", imageId: 3 }, "BAD_ARGUMENT", /^image must be a file name in the head-end's files folder \(no folders\)/],
      ["meterline/7/cmd/update", { image: "v3.mlim", imageId: 3 }, "NO_SUCH_FILE", /^image "v3\.mlim": no such file in /],
      ["meterline/7/cmd/update", { image: "notes.txt", imageId: 3 }, "NOT_AN_IMAGE", /^image "notes\.txt": not an update image/],
      ["meterline/7/cmd/update", { image: "v2.mlim", imageId: 3, tags: "none.tags" }, "NO_SUCH_FILE", /^tags "none\.tags": no such file/],
      ["meterline/7/cmd/update", { image: "v2.mlim", imageId: 3, tags: "short.tags" }, "NOT_A_TAGS_FILE", /^tags "short\.tags": not a tags file/],
      ["meterline/7/cmd/update", { image: "v2.mlim", imageId: 3, meters: [3001, 3009] }, "UNKNOWN_METER", /^update: meters 3009 are not in concentrator 7's registry$/],
      ["meterline/7/cmd/read", { meter: 0 }, "BAD_ARGUMENT", /^read: meter must be a meter id from 1 to 4294901759, got 0$/],
      // refused by the concentrator itself: its code's name (tools/errors) and its line
      ["meterline/7/cmd/read", { meter: 3009 }, "UNKNOWN_METER", /^meterline: meter 3009 is not in the registry \(E128 UNKNOWN_METER: /],
      ["meterline/7/cmd/pause", {}, "UPDATE_NO_SESSION", /^meterline: no campaign \(E85 UPDATE_NO_SESSION: /],
      ["meterline/7/cmd/abort", { force: true }, "BAD_ARGUMENT", /^abort: unknown field "force" \(it takes only id\)$/],
    ];
    for (const [topic, payload, error, message] of cases) {
      const a = await r.send(topic, payload);
      const concentrator = topic.split("/")[1];
      expect(a.topic, `${topic} ${JSON.stringify(payload)}`).toBe(`meterline/${concentrator}/error`);
      const body = JSON.parse(a.payload);
      expect(body.error, `${topic} ${JSON.stringify(payload)}: ${body.message}`).toBe(error);
      expect(body.command).toBe(topic.split("/").slice(3).join("/"));
      if (typeof payload !== "string") expect(body.id).toMatch(/^c\d+$/);
      expect(body.message).toMatch(message);
      expect(body.message).not.toContain("\n");
      expect(a.retain).toBe(false);
      expect(state(r), `${topic} ${JSON.stringify(payload)}`).toEqual(before);
    }
    // device codes come with their number too
    expect(JSON.parse((await r.send("meterline/7/cmd/read", { meter: 3010 })).payload)).toMatchObject({ error: "UNKNOWN_METER", code: 128 });

    // a retained command is not run (it would run again at every subscription)
    const ret = JSON.parse((await r.send("meterline/7/cmd/update", { image: "v2.mlim", imageId: 3 }, { retain: true })).payload);
    expect(ret).toMatchObject({ error: "RETAINED_COMMAND" });
    expect(state(r)).toEqual(before);

    // a campaign that runs: another update is refused before anything is written, and the running one goes on
    const ok = JSON.parse((await r.send("meterline/7/cmd/update", { image: "v2.mlim", imageId: 4 })).payload);
    expect(ok).toMatchObject({ ok: true, imageId: 4, campaign: { running: true } });
    const during = state(r);
    writeFileSync(join(r.files, "v3.mlim"), imageFileOf(makeProgramImage(3, 2400, 200).bytes, "LINUX", 3, 200));
    const busy = JSON.parse((await r.send("meterline/7/cmd/update", { image: "v3.mlim", imageId: 5 })).payload);
    expect(busy.error).toBe("CAMPAIGN_RUNNING");
    expect(busy.message).toMatch(/^concentrator 7 runs a campaign already \((control|broadcast), round 0, 0 of 2 meters updated\): its image file is in use$/);
    expect(state(r)).toEqual(during);
    expect(r.net.fake.storage.get("img.bin")!.length).toBe(2000 + 60); // still v2's image file
    expect(r.net.fake.received.filter((l) => l.startsWith("meterline.update(")).length).toBe(1);
    expect(r.h.attached[0].report).toMatchObject({ imageId: 4, running: true });
  }, 120_000);

  it("every refusal the head-end makes has a name and a meaning, and parseCommand takes the well-formed commands", () => {
    for (const [name, meaning] of Object.entries(COMMAND_ERRORS)) {
      expect(name).toMatch(/^[A-Z][A-Z_]+$/);
      expect(meaning.length).toBeGreaterThan(10);
    }
    expect(parseCommand("update", '{"image":"a.mlim","imageId":9,"tags":"a.tags","method":"patent","loss":0.2,"meters":"outdated","activateAt":0,"id":"x"}'))
      .toEqual({ id: "x", name: "update", image: "a.mlim", imageId: 9, tags: "a.tags", method: "patent", loss: 0.2, meters: "outdated", activateAt: 0 });
    expect(parseCommand("read", "")).toEqual({ name: "read" });
    expect(parseCommand("abort", " ")).toEqual({ name: "abort" });
    expect(() => parseCommand("update", '{"image":"a","imageId":1,"loss":0.6}')).toThrow(CommandError);
  });
});
