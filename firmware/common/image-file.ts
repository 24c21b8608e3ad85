/*
 * The update image file (npm run image): a 60-byte header, then the payload the meters
 * receive (the app header and the program). The concentrator's console takes the
 * campaign's board, version, block size and digest from it and checks the digest before
 * anything goes on the line. Layout, little endian:
 *   magic u32 "MLIM" | format u16 (1) | board u16 | firmwareId u16 | blockSize u16 |
 *   version u32 | size u32 (payload bytes) | blockCount u16 | reserved u16 (0) | digest 32 |
 *   crc32 u32 of the 56 bytes before it
 * The digest is the update digest (update-image.ts) with no campaign (imageId 0): the
 * SHA-256 chain, or for boards without native SHA-256 the CRC-32 chain in its first 4 bytes
 * (the rest zero). A campaign's session digest binds its own imageId and is computed again.
 */
import type { Native } from "../../hal/types";
import { Err } from "./errors";
import { getU16, getU32, putU16, putU32, U8, sub, math } from "./bytes";

export var IMAGE_FILE_MAGIC = 0x4d494c4d;
export var IMAGE_FILE_FORMAT = 1;
export var IMAGE_FILE_HEADER = 60;

export interface ImageFileHeader {
  board: number; firmwareId: number; blockSize: number; version: number; size: number; blockCount: number; digest: Uint8Array;
}

/** True when `b` starts like an image file (then decode it; else it is a bare payload). */
export function isImageFile(b: Uint8Array): boolean {
  return b.length >= 4 && getU32(b, 0) === IMAGE_FILE_MAGIC;
}

/** The header, or UPDATE_DIGEST (damaged: its CRC fails) / BAD_ARG (another format, its reserved field not 0, or sizes that do not add up). */
export function decodeImageFile(b: Uint8Array, native: Native): ImageFileHeader | number {
  if (b.length < IMAGE_FILE_HEADER || !isImageFile(b)) return Err.BAD_ARG;
  if (native.crc32(sub(b, 0, 56)) !== getU32(b, 56)) return Err.UPDATE_DIGEST;
  // format 1 has its reserved u16 zero: anything else is another writer's format
  if (getU16(b, 4) !== IMAGE_FILE_FORMAT || getU16(b, 22)) return Err.BAD_ARG;
  var h: ImageFileHeader = {
    board: getU16(b, 6), firmwareId: getU16(b, 8), blockSize: getU16(b, 10),
    version: getU32(b, 12), size: getU32(b, 16), blockCount: getU16(b, 20), digest: new U8(sub(b, 24, 56)),
  };
  if (!h.blockSize || h.blockCount !== math.ceil(h.size / h.blockSize)) return Err.BAD_ARG;
  return h;
}

export function encodeImageFile(h: ImageFileHeader, native: Native): Uint8Array {
  var b = new U8(IMAGE_FILE_HEADER);
  putU32(b, 0, IMAGE_FILE_MAGIC);
  putU16(b, 4, IMAGE_FILE_FORMAT);
  putU16(b, 6, h.board);
  putU16(b, 8, h.firmwareId);
  putU16(b, 10, h.blockSize);
  putU32(b, 12, h.version);
  putU32(b, 16, h.size);
  putU16(b, 20, h.blockCount);
  b.set(sub(h.digest, 0, 32), 24);
  putU32(b, 56, native.crc32(sub(b, 0, 56)));
  return b;
}
