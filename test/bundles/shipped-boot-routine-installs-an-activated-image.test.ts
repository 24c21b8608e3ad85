/*
 * The shipped boot routine (dist/<board>/boot.js) on an Espruino-shaped VM: a meter
 * provisioned with v1 gets v2 downloaded and activated in its buffer (written the way the
 * meter program writes it), then powers on: the routine copies v2 into the app region,
 * checks it, and runs it; a cut in the middle of that copy is finished at the next start.
 */
import { describe, expect, it } from "vitest";
import { EspruinoDevice } from "../harness/espruino-vm";
import { provisioningPlan } from "../../tools/flash/plan";
import { loadAllProfiles, loadProfile } from "../../tools/profiles/profiles";
import { hostNative, hostNativeNoSha } from "../../hal/mock/native";
import { encodeAppHeader } from "../../firmware/common/image";
import { recordLog } from "../../firmware/common/records";
import { digestChain, STATE_SLOT, type Session } from "../../firmware/common/update-image";
import { updateReceiver } from "../../firmware/meter/update";
import { PowerCut } from "../../hal/mock/flash";

const meterBoards = loadAllProfiles().filter((p) => p.roles.includes("meter")).map((p) => p.board);

function downloadV2(dev: EspruinoDevice, program = `global.meterline={version:2};print("v2 running");`): void {
  const p = dev.profile;
  const native = p.crypto.includes("SHA256") ? hostNative : hostNativeNoSha;
  const body = new TextEncoder().encode(program.padEnd(3000, " "));
  const img = new Uint8Array([...encodeAppHeader({ length: body.length, crc: hostNative.crc32(body), version: 2 }), ...body]);
  const bs = 192;
  const s: Session = { imageId: 12, version: 2, board: p.code, size: img.length, blockSize: bs, blockCount: Math.ceil(img.length / bs), activateAt: 0, digest: new Uint8Array(32) };
  const chain = digestChain(native, s);
  for (let i = 0; i < s.blockCount; i++) chain.step(img.subarray(i * bs, Math.min(img.length, (i + 1) * bs)));
  s.digest = new Uint8Array(32);
  s.digest.set(chain.result().subarray(0, native.sha256 ? 32 : 4));
  const journal = recordLog(dev.flash, p.regions.state!, STATE_SLOT, true, native);
  const rx = updateReceiver(dev.flash, native, p.regions.buffer!, journal, { version: 1, floor: 0, board: p.code, maxImage: p.maxImageSize, rows: p.repairRows });
  expect(rx.control(s, true)).toBe(0);
  for (let i = 0; i < s.blockCount; i++) expect(rx.block(12, i, img.subarray(i * bs, Math.min(img.length, (i + 1) * bs)))).toBe(0);
  expect(rx.state()).toBe(3);
  expect(rx.activate(12)).toBe(0);
}

describe("the shipped boot routine installing an update", () => {
  for (const board of meterBoards) {
    it(`${board}: copies the activated image into the app region and runs it`, () => {
      const dev = new EspruinoDevice({ profile: loadProfile(board) });
      dev.run(provisioningPlan({ board, role: "meter", id: 5 }));
      dev.powerOn();
      expect(dev.global<{ config: { id: number } }>("meterline").config.id).toBe(5);
      downloadV2(dev);
      dev.powerOn();
      expect(dev.output).toEqual(["v2 running"]);
      expect(dev.global<{ version: number }>("meterline").version).toBe(2);
      dev.powerOn(); // and stays installed
      expect(dev.output).toEqual(["v2 running"]);
    });
  }

  it("LINUX: a power cut in the middle of the copy is finished at the next start", () => {
    const dev = new EspruinoDevice({ profile: loadProfile("LINUX") });
    dev.run(provisioningPlan({ board: "LINUX", role: "meter", id: 6 }));
    dev.powerOn();
    downloadV2(dev);
    try { dev.powerOn({ op: 9, mode: "torn", fraction: 0.5 }); } catch (e) { expect(e).toBeInstanceOf(PowerCut); }
    expect(dev.flash.powerLost).toBe(true); // the power went during the copy
    dev.powerOn();
    expect(dev.output).toEqual(["v2 running"]);
  });

  it("LINUX: a new program that throws at start is reverted at once and the meter program runs again", () => {
    const dev = new EspruinoDevice({ profile: loadProfile("LINUX") });
    dev.run(provisioningPlan({ board: "LINUX", role: "meter", id: 9 }));
    dev.powerOn();
    downloadV2(dev, `throw new Error("v2 is broken");`);
    dev.powerOn();
    expect(dev.output).toEqual(["meterline boot: new program failed (E102), reverting"]);
    expect(dev.global<{ config: { id: number } }>("meterline").config.id).toBe(9);
    dev.powerOn(); // the revert is settled: the old program just runs
    expect(dev.output).toEqual([]);
    expect(dev.global<{ config: { id: number } }>("meterline").config.id).toBe(9);
  });
});
