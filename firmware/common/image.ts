/*
 * The header in front of a program in the app region (and of an image in the buffer):
 * magic u32 "MLAP" | length u32 | crc32 u32 of the program text | version u32, little
 * endian, APP_HEADER_SIZE bytes. The program follows, padded with 0xFF to whole words.
 */
import { APP_HEADER_SIZE } from "./layout";

export var APP_MAGIC = 0x50414c4d; // "MLAP" little endian

export interface AppHeader { length: number; crc: number; version: number; }

function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/** Decodes a header; null when the magic is absent (erased or foreign) or the length cannot fit `room`. */
export function decodeAppHeader(b: Uint8Array, room: number): AppHeader | null {
  if (b.length < APP_HEADER_SIZE || u32(b, 0) !== APP_MAGIC) return null;
  var length = u32(b, 4);
  if (length === 0 || length > room - APP_HEADER_SIZE) return null;
  return { length: length, crc: u32(b, 8), version: u32(b, 12) };
}

export function encodeAppHeader(h: AppHeader): Uint8Array {
  var out = new Uint8Array(APP_HEADER_SIZE);
  var words = [APP_MAGIC, h.length, h.crc, h.version];
  for (var w = 0; w < 4; w++) for (var k = 0; k < 4; k++) out[w * 4 + k] = (words[w] >>> (k * 8)) & 0xff;
  return out;
}
