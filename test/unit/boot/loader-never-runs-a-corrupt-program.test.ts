import { describe, expect, it } from "vitest";
import { runApp, appSource } from "../../../firmware/boot/loader";
import { encodeAppHeader } from "../../../firmware/common/image";
import { APP_HEADER_SIZE } from "../../../firmware/common/layout";
import { Err } from "../../../firmware/common/errors";
import { MockFlash } from "../../../hal/mock/flash";
import { hostNative } from "../../../hal/mock/native";
import { loadProfile } from "../../../tools/profiles/profiles";

function install(f: MockFlash, app: { addr: number }, src: string, crcOf = src): void {
  const body = Buffer.from(src, "latin1");
  const h = encodeAppHeader({ length: body.length, crc: hostNative.crc32(crcOf), version: 2 });
  const all = new Uint8Array(Math.ceil((APP_HEADER_SIZE + body.length) / 4) * 4).fill(0xff);
  all.set(h);
  all.set(body, APP_HEADER_SIZE);
  f.write(app.addr, all);
}

describe("boot loader", () => {
  for (const board of ["LINUX", "ESPRUINOBOARD"]) {
    it(`${board}: evaluates a valid program (${board === "LINUX" ? "read in chunks" : "memory-mapped"})`, () => {
      const p = loadProfile(board);
      const f = new MockFlash(p.flash);
      f.memoryMapped = p.memoryMapped;
      const src = "ran = " + JSON.stringify("x".repeat(3000)) + ".length;";
      install(f, p.regions.app!, src);
      let evaluated = "";
      expect(runApp(f, hostNative, p.regions.app!, (s) => { evaluated = s; })).toBe(0);
      expect(evaluated).toBe(src);
      const reads = f.counts.reads;
      appSource(f, hostNative, p.regions.app!);
      // mapped flash is read once for the header (and once more by mapped()); chunked reads grow with size
      expect(f.counts.reads - reads).toBe(board === "LINUX" ? 1 + Math.ceil(src.length / 1024) : 2);
    });
  }

  it("an erased app region is 'no program', and nothing is evaluated", () => {
    const p = loadProfile("LINUX");
    const f = new MockFlash(p.flash);
    let called = false;
    expect(runApp(f, hostNative, p.regions.app!, () => { called = true; })).toBe(Err.BOOT_NO_APP);
    expect(called).toBe(false);
  });

  it("a program whose CRC does not match is never evaluated", () => {
    const p = loadProfile("LINUX");
    const f = new MockFlash(p.flash);
    install(f, p.regions.app!, "evil = 1;", "good = 1;");
    let called = false;
    expect(runApp(f, hostNative, p.regions.app!, () => { called = true; })).toBe(Err.BOOT_APP_CORRUPT);
    expect(called).toBe(false);
  });

  it("a header claiming more than the region holds is 'no program'", () => {
    const p = loadProfile("LINUX");
    const f = new MockFlash(p.flash);
    f.write(p.regions.app!.addr, encodeAppHeader({ length: p.regions.app!.size, crc: 0, version: 1 }));
    expect(runApp(f, hostNative, p.regions.app!, () => undefined)).toBe(Err.BOOT_NO_APP);
  });

  it("a program that throws does not throw out of the loader", () => {
    const p = loadProfile("LINUX");
    const f = new MockFlash(p.flash);
    install(f, p.regions.app!, "throw new Error('bad app')");
    expect(runApp(f, hostNative, p.regions.app!, (s) => { new Function(s)(); })).toBe(Err.BOOT_APP_THREW);
  });
});
