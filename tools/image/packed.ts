/*
 * Packing a payload (firmware/common/image.ts, "a packed payload"): the plain payload (app
 * header and program) compressed in independent chunks of `chunk` plain bytes with the
 * interpreter's heatshrink (tools/image/heatshrink.ts, byte for byte what the interpreter's
 * decompress reads), behind the header the boot routine reads, with the plain bytes'
 * digest chain for the image's board and block size.
 */
import type { Native } from "../../hal/types";
import { putU16, putU32 } from "../../firmware/common/bytes";
import { PACKED_HEAD, PACKED_MAGIC, PACKED_PLAIN, packedSession } from "../../firmware/common/image";
import { digestChain, type Session } from "../../firmware/common/update-image";
import { compress } from "./heatshrink";

/** Packs `plain` for an image of `version` for `board` sent in blocks of `blockSize`; `native` decides the digest (SHA-256 or the CRC-32 chain). */
export function packPayload(plain: Uint8Array, chunk: number, image: { version: number; board: number; blockSize: number }, native: Native): Uint8Array {
  if (chunk < 256 || chunk % 256 || chunk > 0xff00) throw new RangeError(`chunk ${chunk}: a multiple of 256 bytes, at most 65,280`);
  if (!plain.length) throw new RangeError("nothing to pack");
  const count = Math.ceil(plain.length / chunk);
  if (count > 0xffff) throw new RangeError(`${count} chunks: at most 65,535`);
  const parts: Uint8Array[] = [];
  for (let c = 0; c < count; c++) parts.push(compress(plain.subarray(c * chunk, Math.min(plain.length, (c + 1) * chunk))));
  const big = parts.findIndex((p) => p.length > 0xffff);
  if (big >= 0) throw new RangeError(`chunk ${big} compresses to ${parts[big].length} bytes: more than a u16 says`);
  const head = PACKED_HEAD + 2 * count;
  const out = new Uint8Array(head + parts.reduce((n, p) => n + p.length, 0));
  putU32(out, 0, PACKED_MAGIC);
  putU32(out, PACKED_PLAIN, plain.length);
  putU16(out, 8, chunk);
  putU16(out, 10, count);
  // the plain bytes' digest, as the boot routine computes it over the app region
  const base: Session = { imageId: 0, version: image.version, board: image.board, size: plain.length, blockSize: image.blockSize, blockCount: 0, activateAt: 0, digest: new Uint8Array(32) };
  const s = packedSession(base, { plain: plain.length, chunk, count, digest: new Uint8Array(32), offsets: [] });
  const chain = digestChain(native, s);
  for (let i = 0; i < s.blockCount; i++) chain.step(plain.subarray(i * s.blockSize, Math.min(plain.length, (i + 1) * s.blockSize)));
  const d = chain.result();
  // a CRC-32 chain fills the first 4 bytes, the rest stays zero (update-image.ts digestMatches)
  out.set(native.sha256 ? d : d.subarray(0, 4), 12);
  let at = head;
  parts.forEach((p, c) => { putU16(out, PACKED_HEAD + 2 * c, p.length); out.set(p, at); at += p.length; });
  return out;
}
