import { describe, expect, it } from "vitest";
import { MockFlash } from "../../../hal/mock/flash";
import { hostNative } from "../../../hal/mock/native";
import { recordLog } from "../../../firmware/common/records";
import { floorKeeper, keyedAuthoriser } from "../../../firmware/meter/authorise";
import { updateReceiver } from "../../../firmware/meter/update";
import { STATE_SLOT } from "../../../firmware/common/update-image";
import { makeImage } from "../../harness/scripted-concentrator";

const g = { base: 0, size: 65536, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 64 }] };

describe("the anti-rollback floor", () => {
  it("rises when a new program confirms itself, survives a restart, and refuses an image at or below it though an older program runs", () => {
    const flash = new MockFlash(g);
    const journal = () => recordLog(flash, { addr: 0, size: 2048 }, STATE_SLOT, true, hostNative);
    const a = floorKeeper(undefined, hostNative, journal(), 1);
    expect(a.floor()).toBe(0);
    a.confirmed(5);
    a.confirmed(3); // never down
    expect(a.floor()).toBe(5);
    // restart: the floor is read back; the program running is v4 (the boot routine reverted)
    const b = keyedAuthoriser(undefined, hostNative, journal(), 1);
    expect(b.floor()).toBe(5);
    const r = updateReceiver(flash, hostNative, { addr: 32768, size: 16384 }, journal(), { version: 4, floor: b.floor(), board: 1, maxImage: 16000, rows: 0, decoder: null, unpacks: true });
    expect(r.control(makeImage(2000, 200, { version: 5 }).session, false)).toBe(84);
    expect(r.control(makeImage(2000, 200, { version: 6 }).session, false)).toBe(0);
    // an authorised rollback may go below it
    expect(r.control(makeImage(2000, 200, { version: 2 }).session, false, true)).toBe(0);
  });

  it("a key on a board without native SHA-256 is reported (145), and the meter runs without keys", () => {
    const flash = new MockFlash(g);
    const j = recordLog(flash, { addr: 0, size: 2048 }, STATE_SLOT, true, hostNative);
    const a = keyedAuthoriser("00112233445566778899aabbccddeeff", { ...hostNative, sha256: null }, j, 1);
    expect(a.keyed).toBe(false);
    expect(a.problem).toBe(145);
    expect(keyedAuthoriser("00112233445566778899aabbccddeeff", hostNative, j, 1).keyed).toBe(true);
  });
});
