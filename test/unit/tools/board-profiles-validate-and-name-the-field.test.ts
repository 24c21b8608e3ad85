import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadAllProfiles, loadProfile, validateProfile, PROFILE_DIR, ProfileError, profileNames } from "../../../tools/profiles/profiles";

const raw = (board: string) => JSON.parse(readFileSync(join(PROFILE_DIR, `${board}.json`), "utf8"));

function fieldOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ProfileError) return e.field;
    throw e;
  }
  throw new Error("no error");
}

describe("board profiles", () => {
  it("every shipped profile validates, and the six boards are there", () => {
    expect(profileNames()).toEqual(["ESP32", "ESPRUINOBOARD", "ESPRUINOWIFI", "LINUX", "MDBT42Q", "PICO"]);
    const all = loadAllProfiles();
    const roles = Object.fromEntries(all.map((p) => [p.board, p.roles]));
    expect(roles).toEqual({
      ESP32: ["meter", "concentrator"], ESPRUINOBOARD: ["meter"], ESPRUINOWIFI: ["concentrator"],
      LINUX: ["meter", "concentrator"], MDBT42Q: [], PICO: [],
    });
    const linux = loadProfile("LINUX");
    expect(linux.flash.base).toBe(0x10000000);
    expect(linux.flash.eraseUnits).toEqual([{ addr: 0x10000000, size: 1024, count: 256 }]);
    // the Linux build keeps raw regions in 162 KiB near the top of its fake flash (Storage grows up from the bottom)
    for (const r of Object.values(linux.regions)) expect(r!.addr).toBeGreaterThanOrEqual(0x10017800);
    // and the concentrator's regions at the very top: its Storage (program, uploaded images,
    // readings) can outgrow 0x10018000 (measured on the walkthrough: the store region was
    // overwritten), and must cross every meter region, unused by a concentrator, before them
    const conc = [linux.regions.state!, linux.regions.store!];
    const others = Object.entries(linux.regions).filter(([k]) => k !== "state" && k !== "store").map(([, r]) => r!);
    for (const c of conc) for (const o of others) expect(c.addr).toBeGreaterThanOrEqual(o.addr + o.size);
    expect(Math.max(...conc.map((c) => c.addr + c.size))).toBe(0x10000000 + 262144);
    expect(loadProfile("PICO").flash.eraseUnits.map((u) => u.size)).toEqual([16384, 65536, 131072]);
  });

  it("overlapping regions are an error naming the second region", () => {
    const p = raw("LINUX");
    p.regions.buffer.addr = "0x10025000";
    expect(fieldOf(() => validateProfile(p))).toBe("regions.buffer");
  });

  it("a region not on erase-unit boundaries is an error", () => {
    const p = raw("ESPRUINOBOARD");
    p.regions.state.addr = "0x08041200";
    expect(fieldOf(() => validateProfile(p))).toBe("regions.state");
    const w = raw("ESPRUINOWIFI");
    w.regions.store = { addr: "0x08008000", size: 20000 };
    expect(fieldOf(() => validateProfile(w))).toBe("regions.store");
  });

  it("a region outside the chip or outside the free areas is an error", () => {
    const p = raw("ESP32");
    p.regions.buffer.addr = "0x003FF000";
    expect(fieldOf(() => validateProfile(p))).toBe("regions.buffer");
    const q = raw("ESP32");
    q.regions.app.addr = "0x00400000";
    expect(() => validateProfile(q)).toThrow(/outside the chip/);
  });

  it("app or buffer too small for the largest image is an error", () => {
    const p = raw("LINUX");
    p.maxImageSize = 49152;
    expect(fieldOf(() => validateProfile(p))).toBe("regions.app");
    expect(() => validateProfile(p)).toThrow(/too small for maxImageSize 49152/);
  });

  it("a role without the regions it needs is an error", () => {
    const p = raw("ESP32");
    delete p.regions.buffer;
    expect(fieldOf(() => validateProfile(p))).toBe("regions.buffer");
    const w = raw("ESPRUINOWIFI");
    w.regions.store.size = 16384;
    expect(() => validateProfile(w)).toThrow(/at least two erase units/);
  });

  it("bad field values name the field", () => {
    const cases: [(p: any) => void, string][] = [
      [(p) => { p.variables = "many"; }, "variables"],
      [(p) => { p.flash.eraseUnits[0].count = 10; }, "flash.size"],
      [(p) => { p.modem.kind = "lora"; }, "modem.kind"],
      [(p) => { p.modem.uart = "Serial9"; }, "modem.uart"],
      [(p) => { p.led = "not a pin"; }, "led"],
      [(p) => { p.crypto = ["MD5"]; }, "crypto[0]"],
      [(p) => { p.roles = ["gateway"]; }, "roles[0]"],
      [(p) => { p.colour = "red"; }, "colour"],
      [(p) => { p.regions.scratchpad = { addr: "0x08046000", size: 2048 }; }, "regions.scratchpad"],
      [(p) => { p.modem.pins.cts = "B3"; }, "modem.pins.cts"],
      [(p) => { p.flash.writeAlign = 8; }, "flash.writeAlign"],
    ];
    for (const [mutate, field] of cases) {
      const p = raw("ESPRUINOBOARD");
      mutate(p);
      expect(fieldOf(() => validateProfile(p)), field).toBe(field);
    }
  });

  it("the Linux profile needs a modem device path, a board needs pins", () => {
    const p = raw("LINUX");
    delete p.modem.path;
    expect(fieldOf(() => validateProfile(p))).toBe("modem.path");
    const b = raw("ESPRUINOBOARD");
    delete b.modem.tx;
    expect(fieldOf(() => validateProfile(b))).toBe("modem.tx");
  });

  it("an unknown board is a clear error", () => {
    expect(() => loadProfile("NOPE")).toThrow(/no such profile \(known: ESP32/);
  });

  it("gives every meter board a boot region that holds the boot routine's budget and the configuration record", async () => {
    const { BUDGETS } = await import("../../../tools/gate/gate");
    const { CONFIG_SIZE } = await import("../../../firmware/common/layout");
    for (const p of loadAllProfiles().filter((x) => x.roles.includes("meter"))) {
      expect(p.regions.boot!.size - CONFIG_SIZE, p.board).toBeGreaterThanOrEqual(BUDGETS.boot);
    }
  });
});
