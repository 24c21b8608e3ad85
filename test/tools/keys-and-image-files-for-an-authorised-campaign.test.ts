import { decodeMsg, newMsg } from "../../firmware/protocol/codec";
import { recordLog } from "../../firmware/common/records";
import { Kr } from "../../firmware/meter/authorise";
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeImageFile, IMAGE_FILE_HEADER } from "../../firmware/common/image-file";
import { digestMatches } from "../../firmware/common/update-image";
import { decodeConfig } from "../../firmware/common/config";
import { CONFIG_SIZE } from "../../firmware/common/layout";
import { hostNative, hostNativeNoSha } from "../../hal/mock/native";
import { packImage } from "../../tools/image/image";
import { getU32 } from "../../firmware/common/bytes";
import { PACKED_MAGIC } from "../../firmware/common/image";
import { authorisationFor, blockKeyFor, loadKeys, rootKey } from "../../tools/keys/keyfile";
import { loadProfile } from "../../tools/profiles/profiles";
import { EspruinoDevice } from "../harness/espruino-vm";
import { checkImageFile, campaignDigest } from "../../tools/image/image";
import { LinkRig, bootConcentrator, bootMeter, lineFor } from "../../bench/rig";
import { keyFile } from "../../firmware/concentrator/keystore";
import { consoleApi } from "../../firmware/concentrator/console";
import { latin1 } from "../../hal/mock/native";

const node = (script: string, ...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", script, ...args], { encoding: "utf8" });

describe("npm run image", () => {
  it("writes the header (board, version, size, block size and count, digest) and the payload; the digest is the board's", () => {
    const dir = mkdtempSync(join(tmpdir(), "img-"));
    for (const [board, native] of [["LINUX", hostNative], ["ESPRUINOBOARD", hostNativeNoSha]] as const) {
      const out = join(dir, `${board}.mlim`);
      // the Original's buffer holds its program only packed (docs/budgets.md): a plain image is refused, naming the way
      const pack = board === "ESPRUINOBOARD" ? ["--compress"] : [];
      if (pack.length) expect(node("tools/image/image.ts", "--board", board, "--version", "3", "--block-size", "128", "--out", out).stderr).toMatch(/^image: the image travels as \d+ blocks of 128 bytes; board ESPRUINOBOARD's buffer holds 225: pack it \(npm run image -- --compress\)/);
      const r = node("tools/image/image.ts", "--board", board, "--version", "3", "--firmware-id", "9", "--block-size", "128", "--out", out, ...pack);
      expect(r.status, r.stderr).toBe(0);
      const f = new Uint8Array(readFileSync(out));
      const h = decodeImageFile(f, hostNative);
      if (typeof h === "number") throw new Error(`code ${h}`);
      const payload = f.subarray(IMAGE_FILE_HEADER);
      if (pack.length) expect(getU32(payload, 0)).toBe(PACKED_MAGIC);
      else expect(payload).toEqual(packImage(board, 3));
      expect(h).toMatchObject({ board: loadProfile(board).code, firmwareId: 9, version: 3, blockSize: 128, size: payload.length, blockCount: Math.ceil(payload.length / 128) });
      const s = { imageId: 0, version: 3, board: h.board, size: h.size, blockSize: 128, blockCount: h.blockCount, activateAt: 0, digest: h.digest };
      expect(digestMatches(native, s, (i) => payload.subarray(i * 128, Math.min(payload.length, (i + 1) * 128)))).toBe(true);
      if (board === "ESPRUINOBOARD") expect(h.digest.subarray(4).every((b) => b === 0)).toBe(true); // the CRC-32 chain
      // a damaged header is refused
      const bad = f.slice();
      bad[13] ^= 1;
      expect(decodeImageFile(bad, hostNative)).toBe(87);
    }
    expect(node("tools/image/image.ts", "--board", "LINUX", "--version", "3", "--block-size", "130", "--out", join(dir, "x")).stderr.trim()).toBe("image: --block-size must be a multiple of 4 from 4 to 212");
    expect(node("tools/image/image.ts", "--board", "ESPRUINOWIFI", "--version", "3", "--out", join(dir, "x")).status).toBe(2);
  });
});

describe("npm run keys and flash.sh --keys", () => {
  it("makes a private key file, the concentrator's link keys and per-campaign tags; flash.sh puts each meter's key in its keys region", () => {
    const dir = mkdtempSync(join(tmpdir(), "keys-"));
    const kf = join(dir, "keys.json");
    expect(node("tools/keys/keys.ts", "new", "--meters", "1001-1003,2001", "--out", kf).status).toBe(0);
    expect(statSync(kf).mode & 0o077).toBe(0);
    const k = loadKeys(kf);
    expect(Object.keys(k.meters)).toEqual(["1001", "1002", "1003", "2001"]);
    expect(node("tools/keys/keys.ts", "new", "--meters", "1", "--out", kf).stderr).toContain("exists: a new key file would orphan the meters");
    expect(node("tools/keys/keys.ts", "concentrator", "--keys", kf, "--out", join(dir, "ml.keys")).status).toBe(0);
    expect(readFileSync(join(dir, "ml.keys")).length).toBe(4 * 36);
    // tags for a campaign over an image file
    const img = join(dir, "m.mlim");
    expect(node("tools/image/image.ts", "--board", "LINUX", "--version", "2", "--out", img).status).toBe(0);
    const r = node("tools/keys/keys.ts", "authorise", "--keys", kf, "--image", img, "--image-id", "7", "--meters", "1002,1001", "--out", join(dir, "img.tags"));
    expect(r.stdout).toContain("install tags for 2 meters, image v2, campaign 7");
    const tags = readFileSync(join(dir, "img.tags"));
    // the block key's record (id 0) first, then each meter's, sorted
    expect(tags.length).toBe(3 * 40);
    expect([tags.readUInt32LE(0), tags.readUInt32LE(40), tags.readUInt32LE(80)]).toEqual([0, 1001, 1002]);
    // the tag covers the digest the meters check in campaign 7 (the session's, which binds the campaign id)
    const campaign7 = campaignDigest(new Uint8Array(readFileSync(img)), 7)!;
    const head = checkImageFile(new Uint8Array(readFileSync(img))) as Exclude<ReturnType<typeof checkImageFile>, string>;
    const image = { imageId: 7, version: 2, board: head.board, size: head.size, blockSize: head.blockSize, blockCount: head.blockCount, digest: campaign7 };
    // the campaign's block key comes from the key file's head secret and the campaign's digest:
    // the same campaign always gets the same one, another campaign another
    const bk = blockKeyFor(k, campaign7);
    expect(new Uint8Array(tags.subarray(24, 40))).toEqual(bk);
    expect(new Uint8Array(tags.subarray(8, 24))).toEqual(campaign7.subarray(0, 16)); // and the campaign it belongs to
    expect(blockKeyFor(k, campaignDigest(new Uint8Array(readFileSync(img)), 8)!)).not.toEqual(bk);
    const a1001 = authorisationFor(rootKey(k, 1001)!, 1, image, 1001, bk);
    expect(new Uint8Array(tags.subarray(48, 64))).toEqual(a1001.tag);
    expect(new Uint8Array(tags.subarray(64, 80))).toEqual(a1001.key);
    expect(a1001.key).not.toEqual(bk); // wrapped for the meter: only its authorisation key opens it
    expect(new Uint8Array(tags.subarray(104, 120))).not.toEqual(a1001.key); // and another meter's wrapping is its own
    // a rollback tag names the floor it leaves from, and needs it
    expect(node("tools/keys/keys.ts", "authorise", "--keys", kf, "--image", img, "--image-id", "7", "--rollback", "--out", join(dir, "r")).status).toBe(2);
    expect(node("tools/keys/keys.ts", "authorise", "--keys", kf, "--image", img, "--image-id", "7", "--meters", "1001", "--rollback", "--floor", "5", "--out", join(dir, "r")).stdout).toContain("rollback tags (from floor 5)");
    expect(new Uint8Array(readFileSync(join(dir, "r")).subarray(48, 64))).toEqual(authorisationFor(rootKey(k, 1001)!, 2, image, 1001, bk, 5).tag);
    expect(node("tools/keys/keys.ts", "authorise", "--keys", kf, "--image", img, "--image-id", "7", "--meters", "9", "--out", join(dir, "t")).stderr.trim()).toBe("keys: --meters: meter 9 has no key in the key file");
    // a key file without the head-end's secret cannot give a campaign its block key: one line, no tags file
    const old = join(dir, "old.json");
    writeFileSync(old, JSON.stringify({ format: k.format, meters: k.meters }));
    const o = node("tools/keys/keys.ts", "authorise", "--keys", old, "--image", img, "--image-id", "7", "--out", join(dir, "o.tags"));
    expect([o.status, o.stderr.trim().split("\n").length, existsSync(join(dir, "o.tags"))]).toEqual([1, 1, false]);
    expect(o.stderr).toContain('no "head" secret');
    // the operator's path end to end: these files in a keyed concentrator's Storage update keyed meters
    const rig = new LinkRig("st7580", lineFor("st7580", 17, { log: true }));
    for (const id of [1001, 1002]) bootMeter(rig, `m${id}`, id, { version: 1, autoRestart: true, key: k.meters[String(id)] });
    const mlKeys = readFileSync(join(dir, "ml.keys"));
    const conc = bootConcentrator(rig, "conc", [1001, 1002], undefined, {}, { keys: keyFile((o, n) => latin1(mlKeys.subarray(o, o + n)), mlKeys.length), counter: { load: () => 0, save: () => {} } });
    rig.clock.advance(3000);
    const out: string[] = [];
    const files: Record<string, string> = { "img.bin": readFileSync(img).toString("latin1"), "img.tags": tags.toString("latin1") };
    const ml = consoleApi(conc.ctx, hostNative, 1, (n) => files[n], (l) => out.push(l));
    // a tags file of the format before the block key (24-byte records) is refused, nothing sent
    files["old.tags"] = latin1(new Uint8Array(48));
    const sent = rig.line.log.length;
    expect(ml.update("img.bin", { imageId: 7, tags: "old.tags" })).toBe(1);
    expect(out.pop()).toContain("not a tags file of this campaign (npm run keys -- authorise)");
    rig.clock.advance(5000);
    expect(rig.line.log.slice(sent).filter((f) => f.from === "conc")).toEqual([]);
    expect(ml.update("img.bin", { imageId: 7, tags: "img.tags" })).toBe(0);
    // paused after its checkpoint: resuming it from the image alone would send its blocks
    // unsigned, which keyed meters drop, so it is refused; so are tags of another campaign
    rig.clock.advance(20_000);
    expect(ml.pause()).toBe(0);
    expect(ml.resume("img.bin")).toBe(144);
    expect(out.pop()).toContain("keyed meters: resume(file, tags)");
    const other = Buffer.from(tags);
    other[8] ^= 1; // record 0: the first bytes of another campaign's digest
    files["other.tags"] = other.toString("latin1");
    expect(ml.resume("img.bin", "other.tags")).toBe(1);
    expect(out.pop()).toContain("not a tags file of this campaign");
    expect(ml.resume()).toBe(0);
    const end = rig.clock.now() + 3_600_000;
    while (!out.some((l) => l.startsWith("meterline: campaign 7 ended")) && rig.clock.now() < end) rig.clock.advance(500);
    expect(out[out.length - 1]).toBe("meterline: campaign 7 ended: every meter done");
    for (const id of [1001, 1002]) { const n = rig.meters.get(id)!; expect(n.flash.read(n.board.regions.app!.addr + 12, 1)[0]).toBe(2); }
    // keyed meters take ACTIVATE only addressed to them: the campaign activates them by
    // address and broadcasts none (before: a round of broadcast copies, before that three)
    const activates = rig.line.log.filter((f) => f.from === "conc").map((f) => { const m = newMsg(); decodeMsg(f.bytes, f.bytes.length, m); return m; }).filter((m) => m.type === 0x46);
    const broadcast = activates.filter((m) => m.mode === 2).length, addressed = activates.filter((m) => m.mode === 0).length;
    expect(addressed).toBe(2);
    expect(broadcast).toBe(0);
    // every broadcast block of the keyed campaign went signed (its block key), and there were some
    const blocks = rig.line.log.filter((f) => f.from === "conc").map((f) => { const m = newMsg(); decodeMsg(f.bytes, f.bytes.length, m); return m; }).filter((m) => (m.type === 0x42 || m.type === 0x4d) && m.mode === 2);
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks.every((m) => (m.flags & 1) === 1 && m.counter === 0)).toBe(true);
    // flash.sh: the meter's own key into its keys region (not its configuration record); refused on a board without SHA-256
    const plan = join(dir, "plan.js");
    const f = spawnSync("./flash.sh", ["--board", "LINUX", "--role", "meter", "--id", "1002", "--keys", kf, "--no-build", "--dry-run", plan], { encoding: "utf8" });
    expect(f.status, f.stderr).toBe(0);
    const dev = new EspruinoDevice({ profile: loadProfile("LINUX") });
    dev.run(readFileSync(plan, "utf8").replace(/\nload\(\);\s*$/, "\n"));
    const boot = loadProfile("LINUX").regions.boot!;
    const cfg = decodeConfig(dev.flash.read(boot.addr + boot.size - CONFIG_SIZE, CONFIG_SIZE), hostNative);
    expect(cfg).toEqual({ id: 1002 });
    const kr = recordLog(dev.flash, loadProfile("LINUX").regions.keys!, Kr.SLOT, true, hostNative).read(Kr.CUR)!;
    expect(Buffer.from(kr.subarray(Kr.ROOT)).toString("hex")).toBe(k.meters["1002"]);
    const orig = spawnSync("./flash.sh", ["--board", "ESPRUINOBOARD", "--role", "meter", "--id", "1002", "--keys", kf, "--no-build", "--dry-run", plan], { encoding: "utf8" });
    expect(orig.stderr.trim()).toBe("flash: --keys: board ESPRUINOBOARD has no native SHA-256, so it cannot authenticate (docs/security.md)");
    const none = spawnSync("./flash.sh", ["--board", "LINUX", "--role", "meter", "--id", "5", "--keys", kf, "--no-build", "--dry-run", plan], { encoding: "utf8" });
    expect(none.stderr.trim()).toBe(`flash: --keys: meter 5 has no key in ${kf} (npm run keys -- new)`);
    writeFileSync(join(dir, "bad.json"), "{}");
    expect(spawnSync("./flash.sh", ["--board", "LINUX", "--role", "meter", "--id", "5", "--keys", join(dir, "bad.json"), "--no-build", "--dry-run", plan], { encoding: "utf8" }).stderr).toContain("not a meterline key file");
  }, 60_000);
});
