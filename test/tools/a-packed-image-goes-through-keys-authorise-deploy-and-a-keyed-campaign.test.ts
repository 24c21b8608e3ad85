/*
 * A packed image (npm run image -- --compress) everywhere a plain one goes: npm run keys --
 * authorise makes its tags, npm run deploy takes it (checked in a dry run: what it would upload
 * and the update it would start), and the console's update runs a keyed coded campaign with it:
 * the meters, once identified (their IDENTITY says their boot routine unpacks; before, the
 * campaign sends them nothing and fails them with 108), download the packed payload under
 * their authorisation and their boot routine installs the plain program it unpacks.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeImageFile, IMAGE_FILE_HEADER } from "../../firmware/common/image-file";
import { decodeAppHeader, decodePackedHeader, PACKED_MAGIC } from "../../firmware/common/image";
import { getU32 } from "../../firmware/common/bytes";
import { hostNative, latin1 } from "../../hal/host/native";
import { loadKeys } from "../../tools/keys/keyfile";
import { packImage } from "../../tools/image/image";
import { LinkRig, bootConcentrator, bootMeter, lineFor } from "../../bench/rig";
import { keyFile } from "../../firmware/concentrator/keystore";
import { consoleApi } from "../../firmware/concentrator/console";

const node = (script: string, ...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", script, ...args], { encoding: "utf8" });

describe("a packed image", () => {
  it("gets its tags from keys authorise, is taken by deploy, and updates keyed meters to the plain program it unpacks to", () => {
    const dir = mkdtempSync(join(tmpdir(), "packed-"));
    const kf = join(dir, "keys.json"), img = join(dir, "v2.mlim"), tagsFile = join(dir, "v2.tags");
    expect(node("tools/keys/keys.ts", "new", "--meters", "1101,1102", "--out", kf).status).toBe(0);
    expect(node("tools/keys/keys.ts", "concentrator", "--keys", kf, "--out", join(dir, "ml.keys")).status).toBe(0);
    const made = node("tools/image/image.ts", "--board", "LINUX", "--version", "2", "--compress", "--out", img);
    expect(made.status, made.stderr).toBe(0);
    const file = new Uint8Array(readFileSync(img));
    const head = decodeImageFile(file, hostNative);
    if (typeof head === "number") throw new Error(`image file refused: E${head}`);
    const payload = file.subarray(IMAGE_FILE_HEADER);
    expect(getU32(payload, 0)).toBe(PACKED_MAGIC);
    const plain = packImage("LINUX", 2);
    const pk = decodePackedHeader((o, n) => payload.subarray(o, o + n), payload.length)!;
    expect(pk.plain).toBe(plain.length);
    expect(payload.length).toBeLessThan(0.75 * plain.length);

    const a = node("tools/keys/keys.ts", "authorise", "--keys", kf, "--image", img, "--image-id", "9", "--out", tagsFile);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toContain("install tags for 2 meters, image v2, campaign 9");

    // deploy takes it: the dry run names the packed file's upload and the update it would start
    const d = node("tools/deploy/deploy.ts", "--port", "tcp://127.0.0.1:1", "--image", img, "--image-id", "9", "--tags", tagsFile, "--dry-run");
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout).toContain(`${file.length}`);
    expect(d.stdout).toContain('meterline.update("img.bin"');
    expect(d.stdout).toContain("identify: meterline.identify() first, until its round ends");

    // the keyed campaign on the simulated line, with the files deploy would have uploaded
    const k = loadKeys(kf);
    const rig = new LinkRig("st7580", lineFor("st7580", 23, { defaults: { loss: 0.05 } }));
    const ids = [1101, 1102];
    for (const id of ids) bootMeter(rig, `m${id}`, id, { version: 1, autoRestart: true, key: k.meters[String(id)] });
    const mlKeys = readFileSync(join(dir, "ml.keys"));
    const conc = bootConcentrator(rig, "conc", ids, undefined, {}, { keys: keyFile((o, n) => latin1(mlKeys.subarray(o, o + n)), mlKeys.length), counter: { load: () => 0, save: () => {} } });
    rig.clock.advance(3000);
    const out: string[] = [];
    const files: Record<string, string> = { "img.bin": latin1(file), "img.tags": latin1(new Uint8Array(readFileSync(tagsFile))) };
    const ml = consoleApi(conc.ctx, hostNative, 1, (n) => files[n], (l) => out.push(l));
    // not identified yet: the concentrator does not know their boot routine unpacks, and sends them nothing
    expect(ml.update("img.bin", { imageId: 8 })).toBe(0);
    let end = rig.clock.now() + 600_000;
    while (!out.some((l) => l.startsWith("meterline: campaign 8 ended")) && rig.clock.now() < end) rig.clock.advance(500);
    expect(out.find((l) => l.startsWith("meterline: campaign 8 ended"))).toBe("meterline: campaign 8 ended: 0 of 2 meters updated; failed: 1101 E108 1102 E108");
    // identified (their authenticated IDENTITY says it), they take it
    out.length = 0;
    expect(ml.identify()).toBe(0);
    end = rig.clock.now() + 120_000;
    while (!out.some((l) => l.startsWith("meterline: identify round")) && rig.clock.now() < end) rig.clock.advance(500);
    expect(out.pop()).toBe("meterline: identify round: 2 collected, 0 meters did not answer");
    expect(ml.update("img.bin", { imageId: 9, tags: "img.tags" })).toBe(0);
    expect(out.pop()).toBe(`meterline: campaign 9 started: ${payload.length} bytes, ${head.blockCount} blocks, 2 meters`);
    end = rig.clock.now() + 3_600_000;
    while (!out.some((l) => l.startsWith("meterline: campaign 9 ended")) && rig.clock.now() < end) rig.clock.advance(500);
    expect(out.find((l) => l.startsWith("meterline: campaign 9 ended"))).toBe("meterline: campaign 9 ended: every meter done");
    rig.clock.advance(60_000);
    for (const id of ids) {
      const n = rig.meters.get(id)!, app = n.board.regions.app!;
      // the boot routine unpacked it: the app region holds the plain program, byte for byte
      expect(decodeAppHeader(n.flash.read(app.addr, 16), app.size)?.version).toBe(2);
      expect(n.flash.read(app.addr, plain.length)).toEqual(plain);
    }
  }, 240_000);
});
