/*
 * The header in front of a program in the app region (and of an image in the buffer):
 * magic u32 "MLAP" | length u32 | crc32 u32 of the program text | version u32, little
 * endian, APP_HEADER_SIZE bytes. The program follows, padded with 0xFF to whole words.
 */
import { APP_HEADER_SIZE } from "./layout";
import { getU16, getU32, putU32, U8, sub, math } from "./bytes";
import type { Session } from "./update-image";

export var APP_MAGIC = 0x50414c4d; // "MLAP" little endian

export interface AppHeader { length: number; crc: number; version: number; }

/** Decodes a header; null when the magic is absent (erased or foreign) or the length cannot fit `room`. */
export function decodeAppHeader(b: Uint8Array, room: number): AppHeader | null {
  if (b.length < APP_HEADER_SIZE || getU32(b, 0) !== APP_MAGIC) return null;
  var length = getU32(b, 4);
  if (length === 0 || length > room - APP_HEADER_SIZE) return null;
  return { length: length, crc: getU32(b, 8), version: getU32(b, 12) };
}

export function encodeAppHeader(h: AppHeader): Uint8Array {
  var out = new U8(APP_HEADER_SIZE);
  putU32(out, 0, APP_MAGIC);
  putU32(out, 4, h.length);
  putU32(out, 8, h.crc);
  putU32(out, 12, h.version);
  return out;
}

/*
 * A packed payload: the plain one (app header and program: what the app region will hold)
 * compressed in independent chunks with the interpreter's heatshrink (window 8, lookahead
 * 6), so that fewer blocks travel. Little endian:
 *   magic u32 "MLAZ" | plain u32 (bytes installed) | chunk u16 (plain bytes a chunk, a
 *   multiple of 256) | count u16 | digest 32 | compressed bytes u16 x count | the chunks
 * The download's digest covers the packed bytes, as for any payload; `digest` is the plain
 * bytes' digest chain (update-image.ts digestChain, with the session's block size and
 * imageId 0: packedSession), which the boot routine checks after unpacking into the app
 * region, as it checks a plain copy against the session's.
 */
export var PACKED_MAGIC = 0x5a414c4d; // "MLAZ" little endian
/** Where the plain size (u32) sits, after the magic; the header's fixed part's size. */
export var PACKED_PLAIN = 4;
export var PACKED_HEAD = 44;

export interface PackedHeader {
  plain: number;
  chunk: number;
  count: number;
  digest: Uint8Array;
  /** Where chunk c starts in the payload (offsets[count]: the end of the last). */
  offsets: number[];
}

/** The packed header of a payload of `size` bytes read through `read`, or null when it is not packed or does not add up. */
export function decodePackedHeader(read: (o: number, n: number) => Uint8Array, size: number): PackedHeader | null {
  if (size < PACKED_HEAD) return null;
  var h = read(0, PACKED_HEAD), plain = getU32(h, PACKED_PLAIN), chunk = getU16(h, 8), count = getU16(h, 10);
  if (getU32(h, 0) !== PACKED_MAGIC || !plain || !chunk || chunk & 255 || count !== math.ceil(plain / chunk) || PACKED_HEAD + 2 * count > size) return null;
  var t = read(PACKED_HEAD, 2 * count), off = [PACKED_HEAD + 2 * count];
  for (var c = 0; c < count; c++) off.push(off[c] + getU16(t, 2 * c));
  if (off[count] > size) return null;
  return { plain: plain, chunk: chunk, count: count, digest: new U8(sub(h, 12, 44)), offsets: off };
}

/** The session whose digest the unpacked bytes must have: the image's, with the plain size and digest, imageId 0. */
export function packedSession(s: Session, p: PackedHeader): Session {
  return { imageId: 0, version: s.version, board: s.board, size: p.plain, blockSize: s.blockSize, blockCount: math.ceil(p.plain / s.blockSize), activateAt: 0, digest: p.digest };
}
