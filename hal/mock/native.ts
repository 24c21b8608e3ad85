/* Native helpers on the host: the same results as E.CRC32, E.toString and crypto.SHA256. */
import { crc32 } from "node:zlib";
import { createHash } from "node:crypto";
import type { Native } from "../types";

export function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff) : data;
}

export const hostNative: Native = {
  crc32: (d) => crc32(bytesOf(d)) >>> 0,
  bytesToString: (d) => Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("latin1"),
  sha256: (d) => new Uint8Array(createHash("sha256").update(d).digest()),
};

/** A board without native SHA-256 (the Espruino Original). */
export const hostNativeNoSha: Native = { ...hostNative, sha256: null };
