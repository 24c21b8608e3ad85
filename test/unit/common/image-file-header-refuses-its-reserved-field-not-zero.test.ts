/*
 * The image file's header (firmware/common/image-file.ts), format 1: bytes 22-23 are a
 * reserved u16 that is zero. A header with them set and a CRC made over them is another
 * writer's format: refused with BAD_ARG, never read as format 1 (issue 16: they were
 * ignored, so two different files decoded to the same header).
 */
import { describe, expect, it } from "vitest";
import { decodeImageFile, encodeImageFile, IMAGE_FILE_HEADER } from "../../../firmware/common/image-file";
import { Err } from "../../../firmware/common/errors";
import { putU32 } from "../../../firmware/common/bytes";
import { hostNative } from "../../../hal/mock/native";

const header = { board: 2, firmwareId: 7, blockSize: 200, version: 3, size: 1000, blockCount: 5, digest: new Uint8Array(32).fill(0xab) };

describe("the image file header's reserved field", () => {
  it("reads a header whose reserved bytes are zero", () => {
    const b = encodeImageFile(header, hostNative);
    expect(b.length).toBe(IMAGE_FILE_HEADER);
    expect(b[22] | b[23]).toBe(0);
    const h = decodeImageFile(b, hostNative);
    expect(typeof h).toBe("object");
    expect(h).toMatchObject({ board: 2, firmwareId: 7, blockSize: 200, version: 3, size: 1000, blockCount: 5 });
  });

  it("refuses one whose reserved bytes are not zero, even with its CRC made over them", () => {
    for (const [at, v] of [[22, 1], [23, 0x80], [22, 0xff]]) {
      const b = encodeImageFile(header, hostNative);
      b[at] = v;
      putU32(b, 56, hostNative.crc32(b.subarray(0, 56)));
      expect(decodeImageFile(b, hostNative), `byte ${at} = ${v}`).toBe(Err.BAD_ARG);
    }
    // without the CRC made again it is a damaged file, as before
    const d = encodeImageFile(header, hostNative);
    d[22] = 1;
    expect(decodeImageFile(d, hostNative)).toBe(Err.UPDATE_DIGEST);
  });
});
