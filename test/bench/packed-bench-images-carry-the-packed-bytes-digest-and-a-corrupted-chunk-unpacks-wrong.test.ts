/*
 * The real-interpreter bench's packed images (bench/image.ts plainAndPacked, corruptPackedChunk):
 * the download's session (size, block count, digest) is the packed bytes', the packed bytes
 * unpack chunk by chunk to exactly the plain payload programImage makes, and a corrupted
 * chunk differs in one byte of that chunk only, unpacks to other bytes, and still downloads
 * (its session digest is recomputed over the changed bytes).
 */
import { describe, expect, it } from "vitest";
import { corruptPackedChunk, imageOf, plainAndPacked, programImage } from "../../bench/image";
import { decodePackedHeader, packedSession } from "../../firmware/common/image";
import { digestMatches } from "../../firmware/common/update-image";
import { hostNative } from "../../hal/host/native";

const F = { imageId: 7, version: 9, board: 3, blockSize: 200 };
// about 11 KB of program-like text: 6 chunks of 2,048 plain bytes, the last one short
const program = new TextEncoder().encode(Array.from({ length: 400 }, (_, i) => `var x${i}=meter(${i * 7919 % 1000});`).join("\n"));

function header(bytes: Uint8Array) {
  return decodePackedHeader((o, n) => bytes.subarray(o, o + n), bytes.length);
}

function unpack(bytes: Uint8Array): Uint8Array {
  const p = header(bytes)!;
  const parts: Uint8Array[] = [];
  for (let c = 0; c < p.count; c++) parts.push(hostNative.unshrink!(bytes.subarray(p.offsets[c], p.offsets[c + 1])));
  return new Uint8Array(Buffer.concat(parts));
}

describe("a packed bench image", () => {
  it("downloads as its packed bytes and unpacks to the plain payload programImage makes", () => {
    const { plain, packed } = plainAndPacked(program, F, 2048);
    expect(plain).toEqual(programImage(program, F));
    expect(packed.bytes.length).toBeLessThan(plain.bytes.length);
    expect(packed.session).toEqual(imageOf(packed.bytes, F).session);
    expect(packed.session.size).toBe(packed.bytes.length);
    expect(packed.session.blockCount).toBe(Math.ceil(packed.bytes.length / 200));
    const p = header(packed.bytes)!;
    expect(p).not.toBeNull();
    expect(p.plain).toBe(plain.bytes.length);
    expect(p.chunk).toBe(2048);
    expect(p.count).toBe(Math.ceil(plain.bytes.length / 2048));
    expect(unpack(packed.bytes)).toEqual(plain.bytes);
    // the digest in the header is the plain bytes' chain, as the boot routine checks the app region
    const check = packedSession(packed.session, p);
    expect(digestMatches(hostNative, check, (k) => plain.bytes.subarray(k * 200, Math.min(plain.bytes.length, (k + 1) * 200)))).toBe(true);
  });

  it("with a corrupted chunk: one byte of that chunk differs, it unpacks wrong, and its session is the changed bytes'", () => {
    const { plain, packed } = plainAndPacked(program, F, 2048);
    const p = header(packed.bytes)!;
    const bad = corruptPackedChunk(packed, 1);
    const diff = [...bad.bytes.keys()].filter((i) => bad.bytes[i] !== packed.bytes[i]);
    expect(diff.length).toBe(1);
    expect(diff[0]).toBeGreaterThanOrEqual(p.offsets[1]);
    expect(diff[0]).toBeLessThan(p.offsets[2]);
    expect(header(bad.bytes)).toEqual(p);
    expect(bad.session).toEqual(imageOf(bad.bytes, F).session);
    expect(bad.session.digest).not.toEqual(packed.session.digest);
    const out = unpack(bad.bytes);
    expect(Buffer.compare(Buffer.from(out.subarray(2048, 4096)), Buffer.from(plain.bytes.subarray(2048, 4096)))).not.toBe(0);
    expect(out.subarray(0, 2048)).toEqual(plain.bytes.subarray(0, 2048));
    expect(() => corruptPackedChunk(packed, p.count)).toThrow(RangeError);
  });
});
