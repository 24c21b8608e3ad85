import { describe, expect, it } from "vitest";
import { decodeConfig, encodeConfig, readConfig, CONFIG_HEADER } from "../../../firmware/common/config";
import { CONFIG_SIZE } from "../../../firmware/common/layout";
import { Err } from "../../../firmware/common/errors";
import { hostNative } from "../../../hal/mock/native";
import { MockFlash, PowerCut } from "../../../hal/mock/flash";
import { loadProfile } from "../../../tools/profiles/profiles";

describe("device configuration record", () => {
  it("round-trips through the boot region's tail", () => {
    const p = loadProfile("LINUX");
    const f = new MockFlash(p.flash);
    const boot = p.regions.boot!;
    f.write(boot.addr + boot.size - CONFIG_SIZE, encodeConfig({ id: 4242, modemPath: "/dev/pts/3" }, hostNative));
    expect(readConfig(f, hostNative, boot)).toEqual({ id: 4242, modemPath: "/dev/pts/3" });
  });

  it("erased flash reads as missing, never as a value", () => {
    expect(decodeConfig(new Uint8Array(CONFIG_SIZE).fill(0xff), hostNative)).toBe(Err.CONFIG_MISSING);
  });

  it("a flipped bit, a torn write or a bad id reads as corrupt", () => {
    const rec = encodeConfig({ id: 7 }, hostNative);
    const flipped = rec.slice();
    flipped[CONFIG_HEADER + 2] ^= 0x04;
    expect(decodeConfig(flipped, hostNative)).toBe(Err.CONFIG_CORRUPT);
    const badId = encodeConfig({ id: 0 }, hostNative);
    expect(decodeConfig(badId, hostNative)).toBe(Err.CONFIG_CORRUPT);
    const frac = encodeConfig({ id: 1.5 }, hostNative);
    expect(decodeConfig(frac, hostNative)).toBe(Err.CONFIG_CORRUPT);

    const p = loadProfile("LINUX");
    const f = new MockFlash(p.flash);
    const boot = p.regions.boot!;
    for (const fraction of [0.1, 0.5, 0.9]) {
      f.erase(boot.addr + boot.size - 1024);
      f.planCut({ op: f.ops + 0, mode: "torn", fraction });
      expect(() => f.write(boot.addr + boot.size - CONFIG_SIZE, encodeConfig({ id: 123456, groups: [1, 2, 3] }, hostNative))).toThrow(PowerCut);
      f.reboot();
      const got = readConfig(f, hostNative, boot);
      expect([Err.CONFIG_MISSING, Err.CONFIG_CORRUPT]).toContain(got);
    }
  });
});
