/*
 * The header in front of a program in the app region (and of an image in the buffer):
 * magic u32 "MLAP" | length u32 | crc32 u32 of the program text | version u32, little
 * endian, APP_HEADER_SIZE bytes. The program follows, padded with 0xFF to whole words.
 */
import { APP_HEADER_SIZE } from "./layout";
import { getU32, putU32 } from "./bytes";

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
  var out = new Uint8Array(APP_HEADER_SIZE);
  putU32(out, 0, APP_MAGIC);
  putU32(out, 4, h.length);
  putU32(out, 8, h.crc);
  putU32(out, 12, h.version);
  return out;
}
