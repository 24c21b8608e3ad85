/*
 * npm run image -- --compress: the payload packed in the board's chunks (tools/image/packed.ts),
 * about 0.7 of the plain one; --check unpacks it to its plain digest and names a damaged
 * chunk. The boot routine's unpacking of such payloads: test/unit/boot/install-survives-...
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeImageFile, IMAGE_FILE_HEADER } from "../../firmware/common/image-file";
import { decodePackedHeader } from "../../firmware/common/image";
import { hostNative, latin1 } from "../../hal/host/native";
import { checkImageFile, checkPacked, imageFileOf, packImage } from "../../tools/image/image";
import { loadProfile } from "../../tools/profiles/profiles";

const node = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "tools/image/image.ts", ...args], { encoding: "utf8" });

describe("npm run image -- --compress", () => {
  it("packs the board's program in its packChunk chunks, about 0.7 of the plain size, and --check unpacks it to its plain digest", () => {
    const dir = mkdtempSync(join(tmpdir(), "ml-pack-"));
    for (const board of ["ESPRUINOBOARD", "LINUX", "ESP32"]) {
      const out = join(dir, `${board}.mlim`);
      const r = node("--board", board, "--version", "4", "--compress", "--out", out);
      expect(r.status, r.stderr).toBe(0);
      const f = new Uint8Array(readFileSync(out)), h = decodeImageFile(f, hostNative);
      if (typeof h === "number") throw new Error(`code ${h}`);
      const payload = f.subarray(IMAGE_FILE_HEADER), plain = packImage(board, 4);
      const pk = decodePackedHeader((o, n) => payload.subarray(o, o + n), payload.length)!;
      expect(pk).toMatchObject({ plain: plain.length, chunk: loadProfile(board).packChunk, count: Math.ceil(plain.length / loadProfile(board).packChunk) });
      expect(payload.length / plain.length).toBeLessThan(0.72);
      expect(checkPacked(payload, h)).toEqual({ plain: plain.length, chunk: pk.chunk, count: pk.count });
      const c = node("--check", out);
      expect(c.status, c.stderr).toBe(0);
      expect(c.stdout).toContain(`packed: ${plain.length} plain bytes in ${pk.count} chunks of ${pk.chunk}, unpacked to its plain digest`);
    }
    expect(node("--bare", "--board", "LINUX", "--version", "4", "--compress", "--out", join(dir, "x")).status).toBe(2);
  });

  it("a damaged chunk with a digest made over it (the download's checks pass) is found by --check by name", () => {
    const dir = mkdtempSync(join(tmpdir(), "ml-pack-"));
    const out = join(dir, "v.mlim");
    expect(node("--board", "LINUX", "--version", "5", "--compress", "--out", out).status).toBe(0);
    const payload = new Uint8Array(readFileSync(out)).subarray(IMAGE_FILE_HEADER).slice();
    const pk = decodePackedHeader((o, n) => payload.subarray(o, o + n), payload.length)!;
    payload[pk.offsets[3] + 5] ^= 0x10;
    const bad = join(dir, "bad.mlim");
    writeFileSync(bad, imageFileOf(payload, "LINUX", 5));
    const h = checkImageFile(new Uint8Array(readFileSync(bad)));
    expect(typeof h).not.toBe("string");
    const r = node("--check", bad);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^image: .*bad\.mlim: (chunk 3 does not unpack: .*|the unpacked program does not match the packed header's digest)$/);
    // the plain program is what the packed one unpacks to
    expect(latin1(packImage("LINUX", 5)).length).toBe(pk.plain);
  });
});
