/*
 * A packed image (firmware/common/image.ts) downloads like any other, but only a boot
 * routine that unpacks can install it: a meter whose boot routine is older refuses to
 * activate it with BOOT_NO_UNPACK and keeps its program (no ACTIVATE record, the session
 * still verified); a packed image whose plain bytes exceed the board's maxImageSize is
 * refused with UPDATE_TOO_LARGE. A plain image activates as before either way.
 */
import { describe, expect, it } from "vitest";
import { MockFlash } from "../../../hal/mock/flash";
import { hostNative } from "../../../hal/host/native";
import { encodeAppHeader } from "../../../firmware/common/image";
import { recordLog } from "../../../firmware/common/records";
import { digestChain, REC_ACTIVATE, STATE_SLOT, type Session } from "../../../firmware/common/update-image";
import { updateReceiver } from "../../../firmware/meter/update";
import { packPayload } from "../../../tools/image/packed";

const G = { base: 0, size: 64 * 1024, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 64 }] };
const STATE = { addr: 0, size: 2048 }, BUFFER = { addr: 16 * 1024, size: 32 * 1024 };

function plainImage(version: number): Uint8Array {
  const body = new TextEncoder().encode(Array.from({ length: 300 }, (_, i) => `var a${i % 23}=${i};`).join(""));
  return new Uint8Array([...encodeAppHeader({ length: body.length, crc: hostNative.crc32(body), version }), ...body]);
}

/** Downloads `payload` as image 9 into a fresh meter whose boot routine unpacks or not; returns the receiver, its flash and the state log. */
function downloaded(payload: Uint8Array, unpacks: boolean, maxImage = 100000) {
  const flash = new MockFlash(G);
  const journal = recordLog(flash, STATE, STATE_SLOT, true, hostNative);
  const rx = updateReceiver(flash, hostNative, BUFFER, journal, { version: 1, floor: 0, board: 1, maxImage, rows: 0, decoder: null, unpacks });
  const bs = 128, s: Session = { imageId: 9, version: 2, board: 1, size: payload.length, blockSize: bs, blockCount: Math.ceil(payload.length / bs), activateAt: 0, digest: new Uint8Array(32) };
  const chain = digestChain(hostNative, s);
  for (let i = 0; i < s.blockCount; i++) chain.step(payload.subarray(i * bs, Math.min(payload.length, (i + 1) * bs)));
  s.digest = chain.result().slice();
  expect(rx.control(s, true)).toBe(0);
  for (let i = 0; i < s.blockCount; i++) expect(rx.block(9, i, payload.subarray(i * bs, Math.min(payload.length, (i + 1) * bs)))).toBe(0);
  expect(rx.state()).toBe(3); // verified
  return { rx, journal };
}

describe("activating a packed image", () => {
  const plain = plainImage(2);
  const packed = packPayload(plain, 1024, { version: 2, board: 1, blockSize: 128 }, hostNative);

  it("is refused with BOOT_NO_UNPACK by a meter whose boot routine does not unpack, which keeps its program", () => {
    expect(packed.length).toBeLessThan(plain.length);
    const { rx, journal } = downloaded(packed, false);
    expect(rx.activate(9)).toBe(108);
    expect(journal.read(REC_ACTIVATE)).toBeNull();
    expect(rx.state()).toBe(3);
    // the same meter takes a plain image
    const p = downloaded(plain, false);
    expect(p.rx.activate(9)).toBe(0);
    expect(p.journal.read(REC_ACTIVATE)).not.toBeNull();
  });

  it("is taken by a meter whose boot routine unpacks, unless it unpacks larger than the board's maxImageSize", () => {
    const ok = downloaded(packed, true);
    expect(ok.rx.activate(9)).toBe(0);
    expect(ok.journal.read(REC_ACTIVATE)).not.toBeNull();
    // the packed image travels smaller than the limit, but its plain bytes do not fit
    const big = downloaded(packed, true, plain.length - 1);
    expect(packed.length).toBeLessThan(plain.length - 1);
    expect(big.rx.activate(9)).toBe(83);
    expect(big.journal.read(REC_ACTIVATE)).toBeNull();
  });
});
