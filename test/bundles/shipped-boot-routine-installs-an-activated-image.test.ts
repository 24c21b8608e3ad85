/*
 * The shipped boot routine (dist/<board>/boot.js) on an Espruino-shaped VM: a meter
 * provisioned with v1 gets v2 downloaded and activated in its buffer (written the way the
 * meter program writes it), then powers on: the routine copies v2 into the app region,
 * checks it, and runs it; a cut in the middle of that copy is finished at the next start.
 */
import { describe, expect, it } from "vitest";
import { EspruinoDevice, HangError, WatchdogReset } from "../harness/espruino-vm";
import { Err } from "../../firmware/common/errors";
import { Outcome, readOutcome } from "../../firmware/meter/trial";
import { provisioningPlan } from "../../tools/flash/plan";
import { loadAllProfiles, loadProfile, meterDecoder } from "../../tools/profiles/profiles";
import { hostNative, hostNativeNoSha } from "../../hal/mock/native";
import { encodeAppHeader } from "../../firmware/common/image";
import { recordLog } from "../../firmware/common/records";
import { digestChain, MAX_TRIES, START_DEADLINE_MS, STATE_SLOT, WATCHDOG_S, type Session } from "../../firmware/common/update-image";
import { updateReceiver } from "../../firmware/meter/update";
import { PowerCut } from "../../hal/mock/flash";
import { packPayload } from "../../tools/image/packed";

const meterBoards = loadAllProfiles().filter((p) => p.roles.includes("meter")).map((p) => p.board);

function downloadV2(dev: EspruinoDevice, program = `global.meterline={version:2};global.mlUp=1;print("v2 running");`, packChunk = 0): Uint8Array {
  const p = dev.profile;
  const native = p.crypto.includes("SHA256") ? hostNative : hostNativeNoSha;
  const body = new TextEncoder().encode(program.padEnd(3000, " "));
  const plain = new Uint8Array([...encodeAppHeader({ length: body.length, crc: hostNative.crc32(body), version: 2 }), ...body]);
  // packed: what npm run image -- --compress makes (the payload the campaign sends)
  const img = packChunk ? packPayload(plain, packChunk, { version: 2, board: p.code, blockSize: 192 }, native) : plain;
  const bs = 192;
  const s: Session = { imageId: 12, version: 2, board: p.code, size: img.length, blockSize: bs, blockCount: Math.ceil(img.length / bs), activateAt: 0, digest: new Uint8Array(32) };
  const chain = digestChain(native, s);
  for (let i = 0; i < s.blockCount; i++) chain.step(img.subarray(i * bs, Math.min(img.length, (i + 1) * bs)));
  s.digest = new Uint8Array(32);
  s.digest.set(chain.result().subarray(0, native.sha256 ? 32 : 4));
  const journal = recordLog(dev.flash, p.regions.state!, STATE_SLOT, true, native);
  const rx = updateReceiver(dev.flash, native, p.regions.buffer!, journal, { version: 1, floor: 0, board: p.code, maxImage: p.maxImageSize, rows: p.repairRows, decoder: meterDecoder(p), unpacks: true });
  expect(rx.control(s, true)).toBe(0);
  for (let i = 0; i < s.blockCount; i++) expect(rx.block(12, i, img.subarray(i * bs, Math.min(img.length, (i + 1) * bs)))).toBe(0);
  expect(rx.state()).toBe(3);
  expect(rx.activate(12)).toBe(0);
  return plain;
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

  it("LINUX: a packed image is unpacked into the app region; on an interpreter without heatshrink it is refused (108) before anything is written, and the old program runs on", () => {
    const program = `global.meterline={version:2};global.mlUp=1;print("v2 running");` + "/*" + "the same words again and again, ".repeat(60) + "*/";
    const dev = new EspruinoDevice({ profile: loadProfile("LINUX") });
    dev.run(provisioningPlan({ board: "LINUX", role: "meter", id: 7 }));
    dev.powerOn();
    expect(dev.global("mlUnpack")).toBe(1); // the routine says it installs packed images
    const plain = downloadV2(dev, program, 2048);
    dev.powerOn();
    expect(dev.output).toEqual(["v2 running"]);
    const app = dev.profile.regions.app!;
    expect(dev.flash.read(app.addr, plain.length)).toEqual(plain);

    const bare = new EspruinoDevice({ profile: loadProfile("LINUX"), heatshrink: false });
    bare.run(provisioningPlan({ board: "LINUX", role: "meter", id: 8 }));
    bare.powerOn();
    expect(bare.global("mlUnpack")).toBeUndefined(); // so the meter program refuses packed activations itself
    const before = bare.flash.read(app.addr, app.size);
    downloadV2(bare, program, 2048);
    bare.powerOn();
    expect(bare.output[0]).toBe(`meterline boot: update not installed (E${Err.BOOT_NO_UNPACK})`);
    expect(bare.output).toContain("meterline: meter 8 started");
    expect(bare.flash.read(app.addr, app.size)).toEqual(before);
  });

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

  it("LINUX: a new program that throws at start is reverted at once, the board reboots, and the meter program runs again", () => {
    const dev = new EspruinoDevice({ profile: loadProfile("LINUX") });
    dev.run(provisioningPlan({ board: "LINUX", role: "meter", id: 9 }));
    dev.powerOn();
    downloadV2(dev, `throw new Error("v2 is broken");`);
    dev.powerOn();
    // reverted, then a reboot: nothing the broken program set up runs beside the old one
    expect(dev.output).toEqual(["meterline boot: new program failed (E102), reverting"]);
    expect(dev.rebootRequested).toBe(true);
    expect(dev.global("meterline")).toBeUndefined();
    dev.powerOn();
    expect(dev.output).toEqual(["meterline: meter 9 started"]);
    expect(dev.global<{ config: { id: number } }>("meterline").config.id).toBe(9);
    dev.powerOn(); // the revert is settled: the old program just runs
    expect(dev.output).toEqual(["meterline: meter 9 started"]);
    expect(dev.global<{ config: { id: number } }>("meterline").config.id).toBe(9);
  });
});

/*
 * A new program that never starts the meter (it evaluates without error but never sets
 * mlUp, like the bench's synthetic image of a comment only) or hangs before it starts: the
 * boot routine reverts it by itself. Nothing outside restarts the interpreter except on
 * E.reboot() (the board runner's rule on the Linux build) or the hardware watchdog.
 */
describe("the shipped boot stub and routine revert a new program that never starts", () => {
  for (const board of meterBoards) {
    it(`${board}: a program that stays silent past the start deadline is reverted, and the board reboots into the previous one`, () => {
      const dev = new EspruinoDevice({ profile: loadProfile(board) });
      dev.run(provisioningPlan({ board, role: "meter", id: 21 }));
      dev.powerOn();
      downloadV2(dev, "// a comment only: nothing starts");
      dev.powerOn();
      expect(dev.output).toEqual([]);
      expect(dev.global("mlRan")).toBe(2); // on trial
      // the watchdog is armed before the hand-over only where the board has one
      expect(dev.watchdog ? dev.watchdog.timeout : 0).toBe(dev.profile.watchdog ? WATCHDOG_S : 0);
      dev.clock.advance(START_DEADLINE_MS - 1);
      expect(dev.rebootRequested).toBe(false);
      dev.clock.advance(1);
      expect(dev.output).toEqual([`meterline boot: new program did not start (E${Err.BOOT_APP_SILENT}), reverting`]);
      expect(dev.rebootRequested).toBe(true);
      dev.powerOn();
      expect(dev.output).toEqual(["meterline: meter 21 started"]);
      expect(dev.global<{ config: { id: number } }>("meterline").config.id).toBe(21);
      // the journal says reverted: the meter program reports it
      expect(readOutcome(dev.flash, dev.profile.regions.journal!).outcome).toBe(Outcome.REVERTED);
      dev.clock.advance(START_DEADLINE_MS * 2); // no deadline for a program that is not on trial
      expect(dev.rebootRequested).toBe(false);
    });
  }

  it("LINUX: a program that starts in time is left alone, however long its confirmation takes", () => {
    const dev = new EspruinoDevice({ profile: loadProfile("LINUX") });
    dev.run(provisioningPlan({ board: "LINUX", role: "meter", id: 22 }));
    dev.powerOn();
    downloadV2(dev, `setTimeout(function(){global.mlUp=1;print("v2 up")},${START_DEADLINE_MS - 100});`);
    dev.powerOn();
    dev.clock.advance(START_DEADLINE_MS * 3);
    expect(dev.output).toEqual(["v2 up"]);
    expect(dev.rebootRequested).toBe(false);
    expect(readOutcome(dev.flash, dev.profile.regions.journal!).outcome).toBe(Outcome.RUNNING);
  });

  it("LINUX: a program whose start fails in a timer (it catches and reports its own error) and never says it started is reverted at the deadline", () => {
    const dev = new EspruinoDevice({ profile: loadProfile("LINUX") });
    dev.run(provisioningPlan({ board: "LINUX", role: "meter", id: 23 }));
    dev.powerOn();
    downloadV2(dev, `setTimeout(function(){try{null.x}catch(e){print("v2 threw")}},10);`);
    dev.powerOn();
    dev.clock.advance(START_DEADLINE_MS);
    expect(dev.output).toEqual(["v2 threw", `meterline boot: new program did not start (E${Err.BOOT_APP_SILENT}), reverting`]);
    dev.powerOn();
    expect(dev.global<{ config: { id: number } }>("meterline").config.id).toBe(23);
  });

  it("ESPRUINOBOARD: a program that hangs before it starts is restarted by the watchdog and reverted after the tries run out", () => {
    const dev = new EspruinoDevice({ profile: loadProfile("ESPRUINOBOARD") });
    dev.hangMs = 200;
    dev.run(provisioningPlan({ board: "ESPRUINOBOARD", role: "meter", id: 24 }));
    dev.powerOn();
    downloadV2(dev, "for(;;){}");
    let resets = 0;
    for (let i = 0; i < 10; i++) {
      try { dev.powerOn(); break; } catch (e) { expect(e).toBeInstanceOf(WatchdogReset); resets++; }
    }
    // the copy's start and MAX_TRIES more starts on trial, each ended by the watchdog; then the revert
    expect(resets).toBe(MAX_TRIES);
    expect(dev.watchdogResets).toBe(MAX_TRIES);
    expect(dev.output).toEqual([`meterline boot: new program reverted (E${Err.BOOT_REVERTED})`, "meterline: meter 24 started"]);
    expect(readOutcome(dev.flash, dev.profile.regions.journal!).outcome).toBe(Outcome.REVERTED);
  });

  it("LINUX: with no watchdog a hang stays a hang (the Linux build has none): the VM says so", () => {
    const dev = new EspruinoDevice({ profile: loadProfile("LINUX") });
    dev.hangMs = 200;
    dev.run(provisioningPlan({ board: "LINUX", role: "meter", id: 25 }));
    dev.powerOn();
    downloadV2(dev, "for(;;){}");
    expect(() => dev.powerOn()).toThrow(HangError);
  });
});
