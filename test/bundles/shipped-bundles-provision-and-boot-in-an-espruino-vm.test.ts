/*
 * The shipped bundles themselves (dist/), not the TypeScript sources: provision a board
 * with the plan flash.sh sends, power it on, and check what runs.
 */
import { describe, expect, it, beforeAll } from "vitest";
import { existsSync } from "node:fs";
import { EspruinoDevice } from "../harness/espruino-vm";
import { provisioningPlan } from "../../tools/flash/plan";
import { loadProfile, loadAllProfiles } from "../../tools/profiles/profiles";
import { CONFIG_SIZE } from "../../firmware/common/layout";
import { Err } from "../../firmware/common/errors";

beforeAll(() => {
  if (!existsSync("dist/LINUX/meter.js")) throw new Error("dist/ is missing: npm test builds it (npm run build)");
});

const meterBoards = loadAllProfiles().filter((p) => p.roles.includes("meter")).map((p) => p.board);
const concentratorBoards = loadAllProfiles().filter((p) => p.roles.includes("concentrator")).map((p) => p.board);

describe("shipped bundles on an Espruino-shaped VM", () => {
  for (const board of meterBoards) {
    it(`${board}: a provisioned meter boots through stub, boot routine and app to the meter program`, () => {
      const dev = new EspruinoDevice({ profile: loadProfile(board) });
      dev.run(provisioningPlan({ board, role: "meter", id: 31337 }));
      expect(dev.output).toContain("meterline: provisioned meter 31337");
      expect(dev.rebootRequested).toBe(true);
      dev.powerOn();
      // the one line flash.sh waits for, and the flag that stops the boot stub's start deadline
      expect(dev.output).toEqual(["meterline: meter 31337 started"]);
      expect(dev.global("mlUp")).toBe(1);
      const m = dev.global<{ config: { id: number }; baud: number }>("meterline");
      expect(m.config.id).toBe(31337);
      expect(dev.modemUart().baud).toBe(dev.profile.modem.baud);
      // power cycles keep working: nothing was consumed
      dev.powerOn();
      expect(dev.global<{ config: { id: number } }>("meterline").config.id).toBe(31337);
    });
  }

  for (const board of concentratorBoards) {
    it(`${board}: a provisioned concentrator starts from Storage with its configuration`, () => {
      const dev = new EspruinoDevice({ profile: loadProfile(board) });
      dev.run(provisioningPlan({ board, role: "concentrator", id: 1 }));
      dev.powerOn();
      expect(dev.output).toEqual(["meterline: concentrator 1 started"]);
      expect(dev.global("mlUp")).toBe(1);
      expect(dev.global<{ config: { id: number } }>("meterline").config.id).toBe(1);
      expect(dev.modemUart().baud).toBe(57600);
    });
  }

  it("LINUX: --modem-path reaches the UART setup", () => {
    const dev = new EspruinoDevice({ profile: loadProfile("LINUX") });
    dev.run(provisioningPlan({ board: "LINUX", role: "meter", id: 5, modemPath: "/dev/pts/9" }));
    dev.powerOn();
    expect(dev.global<{ config: { modemPath: string } }>("meterline").config.modemPath).toBe("/dev/pts/9");
  });

  it("a corrupt app region is never executed: the boot routine says so and stops", () => {
    const p = loadProfile("ESPRUINOBOARD");
    const dev = new EspruinoDevice({ profile: p });
    dev.run(provisioningPlan({ board: p.board, role: "meter", id: 8 }));
    // rewrite the first unit with one bit of the program text changed, as a bad copy would leave it
    const app = p.regions.app!;
    const unit = dev.flash.read(app.addr, 2048);
    unit[100] ^= 0x20;
    dev.flash.erase(app.addr);
    dev.flash.write(app.addr, unit);
    dev.powerOn();
    expect(dev.output).toEqual([`meterline boot: no program to run (E${Err.BOOT_APP_CORRUPT})`]);
    expect(dev.global("meterline")).toBeUndefined();
  });

  it("a chip whose free flash does not hold the regions refuses to run, naming the region", () => {
    const p = loadProfile("ESPRUINOBOARD");
    const dev = new EspruinoDevice({ profile: p });
    dev.run(provisioningPlan({ board: p.board, role: "meter", id: 8 }));
    const small = new EspruinoDevice({ profile: { ...p, freeAreas: [{ addr: 0x08040000, length: 0x8000 }] }, flash: dev.flash, storage: dev.storage });
    small.powerOn();
    expect(small.output).toEqual([`meterline: not started, region app (E${Err.REGION_NOT_FREE})`]);
    expect(small.global("meterline")).toBeUndefined();
  });

  it("a meter whose configuration was wiped says how to fix it", () => {
    const p = loadProfile("LINUX");
    const dev = new EspruinoDevice({ profile: p });
    dev.run(provisioningPlan({ board: p.board, role: "meter", id: 8 }));
    const boot = p.regions.boot!;
    const last = boot.addr + boot.size - 1024;
    const keep = dev.flash.read(last, 1024 - CONFIG_SIZE);
    dev.flash.erase(last);
    dev.flash.write(last, keep.slice(0, Math.floor(keep.length / 4) * 4));
    dev.powerOn();
    expect(dev.output).toEqual([`meterline: not started (E${Err.CONFIG_MISSING})`]);
  });
});
