/*
 * Update images for host runs: a session (the control message's fields) with the digest
 * computed over the image's blocks by the firmware's own digest chain.
 */
import { digestChain, type Session } from "../firmware/common/update-image";
import { decodePackedHeader, encodeAppHeader } from "../firmware/common/image";
import { packPayload } from "../tools/image/packed";
import { hostNative } from "../hal/host/native";
import type { Native } from "../hal/types";

export interface Image { bytes: Uint8Array; session: Session }

export interface ImageFields { imageId: number; version: number; board: number; blockSize: number }

/** The image of `bytes` cut into blocks of `blockSize`, with its digest (SHA-256 chain, or CRC-32 chain with a native without SHA-256). */
export function imageOf(bytes: Uint8Array, f: ImageFields, native: Native = hostNative): Image {
  const s: Session = {
    imageId: f.imageId, version: f.version, board: f.board, size: bytes.length, blockSize: f.blockSize,
    blockCount: Math.ceil(bytes.length / f.blockSize), activateAt: 0, digest: new Uint8Array(32),
  };
  const chain = digestChain(native, s);
  for (let i = 0; i < s.blockCount; i++) chain.step(bytes.subarray(i * f.blockSize, Math.min(bytes.length, (i + 1) * f.blockSize)));
  s.digest = chain.result().slice();
  return { bytes, session: s };
}

/** An installable program image: the app header (length, CRC, version) and `program`. */
export function programImage(program: Uint8Array, f: ImageFields): Image {
  const bytes = new Uint8Array(16 + program.length);
  bytes.set(encodeAppHeader({ length: program.length, crc: hostNative.crc32(program), version: f.version }));
  bytes.set(program, 16);
  return imageOf(bytes, f);
}

/** Block i of an image. */
export function blockOf(img: Image, i: number): Uint8Array {
  const bs = img.session.blockSize;
  return img.bytes.subarray(i * bs, Math.min(img.bytes.length, (i + 1) * bs));
}

/** A program's plain payload (what the app region will hold, as programImage makes it) and that payload packed in chunks of `chunk` (tools/image/packed.ts): the session's size, block count and digest are the packed bytes'. */
export function plainAndPacked(program: Uint8Array, f: ImageFields, chunk = 2048): { plain: Image; packed: Image } {
  const plain = programImage(program, f);
  const bytes = packPayload(plain.bytes, chunk, { version: f.version, board: f.board, blockSize: f.blockSize }, hostNative);
  return { plain, packed: imageOf(bytes, f) };
}

/**
 * `packed` with one byte of chunk `c`'s compressed stream changed so that the chunk no longer
 * unpacks to its plain bytes (heatshrink's decompress never fails: it just gives other bytes),
 * its session's digest computed again over the changed bytes, as a download of them would
 * check. The header (and so the plain digest the boot routine checks after unpacking) stays.
 */
export function corruptPackedChunk(packed: Image, c: number): Image {
  const s = packed.session;
  const p = decodePackedHeader((o, n) => packed.bytes.subarray(o, o + n), packed.bytes.length);
  if (!p) throw new RangeError("not a packed payload");
  if (c < 0 || c >= p.count) throw new RangeError(`chunk ${c}: the payload has ${p.count}`);
  const from = p.offsets[c], to = p.offsets[c + 1];
  const unshrink = hostNative.unshrink!;
  const good = unshrink(packed.bytes.subarray(from, to));
  // from the middle of the chunk on, the first byte whose change changes what it unpacks to
  for (let k = 0; k < to - from; k++) {
    const at = from + ((Math.floor((to - from) / 2) + k) % (to - from));
    const bytes = packed.bytes.slice();
    bytes[at] ^= 0x5a;
    if (Buffer.compare(Buffer.from(unshrink(bytes.subarray(from, to))), Buffer.from(good)) !== 0) {
      return imageOf(bytes, { imageId: s.imageId, version: s.version, board: s.board, blockSize: s.blockSize });
    }
  }
  throw new RangeError(`no change of chunk ${c} changes what it unpacks to`);
}
