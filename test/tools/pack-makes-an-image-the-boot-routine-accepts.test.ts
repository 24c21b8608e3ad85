import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { packImage } from "../../tools/image/image";
import { decodeAppHeader } from "../../firmware/common/image";
import { hostNative, latin1 } from "../../hal/mock/native";

describe("npm run pack (npm run image -- --bare)", () => {
  it("writes the app header and the meter bundle, with the CRC the boot routine checks", () => {
    const out = join(mkdtempSync(join(tmpdir(), "ml-")), "v2.img");
    const r = spawnSync("node", ["--import", "tsx", "tools/image/image.ts", "--bare", "--board", "ESPRUINOBOARD", "--version", "2", "--out", out], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^image: .*v2\.img: \d+ bytes, bare meter v2 for ESPRUINOBOARD \(app header and program\)/);
    const img = new Uint8Array(readFileSync(out));
    const h = decodeAppHeader(img, img.length)!;
    expect(h.version).toBe(2);
    expect(h.length).toBe(img.length - 16);
    expect(hostNative.crc32(img.subarray(16))).toBe(h.crc);
    expect(latin1(img.subarray(16))).toBe(readFileSync("dist/ESPRUINOBOARD/meter.js", "latin1").replace(/\n\/\/# sourceMappingURL=.*\s*$/, ""));
  });

  it("refuses a board without a meter role, a bad version, or a missing bundle, by name", () => {
    expect(() => packImage("PICO", 2)).toThrow(/board PICO takes no meter role/);
    expect(() => packImage("LINUX", 0)).toThrow(/--version must be a whole number/);
    expect(() => packImage("NOPE", 2)).toThrow(/no such profile/);
    expect(() => packImage("LINUX", 2, "/nonexistent")).toThrow(/meter\.js is missing: run npm run build/);
    const r = spawnSync("node", ["--import", "tsx", "tools/image/image.ts", "--bare", "--board", "LINUX"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("image: --version is required: the program's version, 1 to 4294967295");
  });
});
