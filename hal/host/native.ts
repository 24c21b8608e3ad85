/* Native helpers on the host: the same results as E.CRC32, E.toString and crypto.SHA256. */
import { crc32 } from "node:zlib";
import { createHash } from "node:crypto";
import type { Native } from "../types";
import { decompress } from "../../tools/image/heatshrink";

/** Bytes of a string of char codes 0..255 (as the interpreter's strings carry bytes). */
export function bytesOf(data: Uint8Array | string): Uint8Array {
  // latin1 keeps the low byte of each UTF-16 unit, as `charCodeAt(i) & 0xff` (and far faster)
  return typeof data === "string" ? new Uint8Array(Buffer.from(data, "latin1")) : data;
}

/** A string of char codes 0..255 for the bytes (E.toString). */
export function latin1(d: Uint8Array): string {
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("latin1");
}

export const hostNative: Native = {
  crc32: (d) => crc32(bytesOf(d)) >>> 0,
  bytesToString: latin1,
  stringToBytes: (s) => bytesOf(s),
  sha256: (d) => new Uint8Array(createHash("sha256").update(d).digest()),
  // as the interpreter's: it never throws (a damaged stream gives no bytes here)
  unshrink: (d) => { try { return decompress(d); } catch { return new Uint8Array(0); } },
};

/** A board without native SHA-256 (the Espruino Original). */
export const hostNativeNoSha: Native = { ...hostNative, sha256: null };
