/*
 * Update images for host runs: a session (the control message's fields) with the digest
 * computed over the image's blocks by the firmware's own digest chain.
 */
import { digestChain, type Session } from "../firmware/common/update-image";
import { encodeAppHeader } from "../firmware/common/image";
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
