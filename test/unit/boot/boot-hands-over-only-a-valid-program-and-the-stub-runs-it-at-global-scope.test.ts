import { describe, expect, it } from "vitest";
import vm from "node:vm";
import { appSource, handover } from "../../../firmware/boot/loader";
import { encodeAppHeader } from "../../../firmware/common/image";
import { APP_HEADER_SIZE } from "../../../firmware/common/layout";
import { Err } from "../../../firmware/common/errors";
import { MockFlash } from "../../../hal/mock/flash";
import { hostNative } from "../../../hal/mock/native";
import { loadProfile } from "../../../tools/profiles/profiles";
import { handoverStub } from "../../../tools/flash/plan";

function install(f: MockFlash, app: { addr: number }, src: string, crcOf = src): void {
  const body = Buffer.from(src, "latin1");
  const h = encodeAppHeader({ length: body.length, crc: hostNative.crc32(crcOf), version: 2 });
  const all = new Uint8Array(Math.ceil((APP_HEADER_SIZE + body.length) / 4) * 4).fill(0xff);
  all.set(h);
  all.set(body, APP_HEADER_SIZE);
  f.write(app.addr, all);
}

/**
 * The real boot stub (tools/flash/plan.ts) in a fresh global scope, around a routine that
 * hands over as the boot routine does. Returns the globals, the codes given to done() and
 * how many program texts were offered.
 */
function stub(choose: () => string | number, trial = false, revert = () => {}): { g: Record<string, unknown>; codes: number[]; evaluated: number; routineRuns: number } {
  const g: Record<string, unknown> = {};
  const out = { g, codes: [] as number[], evaluated: 0, routineRuns: 0 };
  const ctx = vm.createContext(g);
  vm.runInContext("globalThis.global = globalThis;", ctx);
  g.runRoutine = () => {
    out.routineRuns++;
    handover(g, () => { const s = choose(); if (typeof s === "string") out.evaluated++; return s; }, trial, revert, (code) => { out.codes.push(code); });
  };
  vm.runInContext(handoverStub("runRoutine()"), ctx);
  return out;
}

describe("boot hand-over", () => {
  for (const board of ["LINUX", "ESPRUINOBOARD"]) {
    it(`${board}: a valid program is read (${board === "LINUX" ? "in chunks" : "memory-mapped"}) and run at global scope`, () => {
      const p = loadProfile(board);
      const f = new MockFlash(p.flash);
      f.memoryMapped = p.memoryMapped;
      const src = "var ran = " + JSON.stringify("x".repeat(3000)) + ".length; function top() { return ran; } var seen = typeof mlBoot;";
      install(f, p.regions.app!, src);
      const r = stub(() => appSource(f, hostNative, p.regions.app!));
      expect(r.codes).toEqual([]);
      // top-level declarations of the program are globals: it was not evaluated inside a function
      expect(r.g.ran).toBe(3000);
      expect(typeof r.g.top).toBe("function");
      // the hand-over was gone before the program ran, so the routine's code was garbage then
      expect(r.g.seen).toBe("undefined");
      expect(r.g.mlRan).toBe(1);
      const reads = f.counts.reads;
      appSource(f, hostNative, p.regions.app!);
      // mapped flash is read once for the header (and once more by mapped()); chunked reads grow with size
      expect(f.counts.reads - reads).toBe(board === "LINUX" ? 1 + Math.ceil(src.length / 1024) : 2);
    });
  }

  it("an erased app region is 'no program', and nothing is evaluated", () => {
    const p = loadProfile("LINUX");
    const f = new MockFlash(p.flash);
    const r = stub(() => appSource(f, hostNative, p.regions.app!));
    expect(r.codes).toEqual([Err.BOOT_NO_APP]);
    expect(r.evaluated).toBe(0);
  });

  it("a program whose CRC does not match is never evaluated", () => {
    const p = loadProfile("LINUX");
    const f = new MockFlash(p.flash);
    install(f, p.regions.app!, "evil = 1;", "good = 1;");
    const r = stub(() => appSource(f, hostNative, p.regions.app!));
    expect(r.codes).toEqual([Err.BOOT_APP_CORRUPT]);
    expect(r.g.evil).toBeUndefined();
  });

  it("a header claiming more than the region holds is 'no program'", () => {
    const p = loadProfile("LINUX");
    const f = new MockFlash(p.flash);
    f.write(p.regions.app!.addr, encodeAppHeader({ length: p.regions.app!.size, crc: 0, version: 1 }));
    expect(stub(() => appSource(f, hostNative, p.regions.app!)).codes).toEqual([Err.BOOT_NO_APP]);
  });

  it("a program that throws does not throw out of the stub, and is reported", () => {
    const p = loadProfile("LINUX");
    const f = new MockFlash(p.flash);
    install(f, p.regions.app!, "throw new Error('bad app')");
    let reverts = 0;
    const r = stub(() => appSource(f, hostNative, p.regions.app!), false, () => { reverts++; });
    expect(r.codes).toEqual([Err.BOOT_APP_THREW]);
    expect(reverts).toBe(0); // not on trial: nothing to revert to
    expect(r.routineRuns).toBe(2); // the stub ran the routine again to report it
    expect("mlThrew" in r.g || "mlRan" in r.g || "mlBoot" in r.g).toBe(false);
  });

  it("a new program on trial that throws is reverted once, and nothing else runs in that life (the revert reboots)", () => {
    const p = loadProfile("LINUX");
    const f = new MockFlash(p.flash);
    install(f, p.regions.app!, "throw new Error('bad app')");
    let reverts = 0;
    const r = stub(() => appSource(f, hostNative, p.regions.app!), true, () => {
      reverts++;
      for (let a = p.regions.app!.addr; a < p.regions.app!.addr + p.regions.app!.size; a += 1024) f.erase(a);
      install(f, p.regions.app!, "var old = 1;");
    });
    expect(reverts).toBe(1);
    // the previous program runs after the reboot, not beside what the broken one set up
    expect(r.g.old).toBeUndefined();
    expect(r.evaluated).toBe(1);
    expect(r.codes).toEqual([]);
    expect("mlThrew" in r.g || "mlRan" in r.g || "mlBoot" in r.g).toBe(false);
  });

  it("a program that is not on trial and throws is not reverted: the routine says so", () => {
    const p = loadProfile("LINUX");
    const f = new MockFlash(p.flash);
    install(f, p.regions.app!, "throw new Error('bad app')");
    let reverts = 0;
    const r = stub(() => appSource(f, hostNative, p.regions.app!), false, () => { reverts++; });
    expect(reverts).toBe(0);
    expect(r.evaluated).toBe(1);
    expect(r.codes).toEqual([Err.BOOT_APP_THREW]);
  });
});
