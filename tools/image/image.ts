/*
 * npm run image: a built meter bundle as an update image file, ready for a campaign:
 * the header (firmware/common/image-file.ts: format, board, firmware id, version, size,
 * block size, block count, digest) and the payload (the app header and the program).
 *
 *   npm run image -- --board ESPRUINOBOARD --version 2 [--firmware-id 1] [--block-size 200] --out meter-v2.mlim
 *
 * The digest is the one the board checks: the SHA-256 chain, or the CRC-32 chain on a board
 * without native SHA-256. Errors exit 2 with one line naming the problem.
 */
import { writeFileSync } from "node:fs";
import { digestChain, type Session } from "../../firmware/common/update-image";
import { decodeImageFile, encodeImageFile, IMAGE_FILE_HEADER } from "../../firmware/common/image-file";
import { hostNative, hostNativeNoSha } from "../../hal/mock/native";
import { loadProfile } from "../profiles/profiles";
import { packImage, PackError } from "./pack";
import { MAX_BLOCK } from "../../firmware/common/update-image";

/** The image file of a built meter bundle for `board`. */
export function imageFile(board: string, version: number, blockSize = 200, firmwareId = 1, dist = "dist"): Uint8Array {
  checkLayout(blockSize, firmwareId);
  return imageFileOf(packImage(board, version, dist), board, version, blockSize, firmwareId);
}

function checkLayout(blockSize: number, firmwareId: number): void {
  if (!Number.isInteger(blockSize) || blockSize < 4 || blockSize > MAX_BLOCK || blockSize % 4) throw new PackError(`--block-size must be a multiple of 4 from 4 to ${MAX_BLOCK}`);
  if (!Number.isInteger(firmwareId) || firmwareId < 0 || firmwareId > 0xffff) throw new PackError("--firmware-id must be a whole number from 0 to 65535");
}

/** The image file of any payload (an app header and a program) for `board`: the header, with the digest that board checks, then the payload. */
export function imageFileOf(payload: Uint8Array, board: string, version: number, blockSize = 200, firmwareId = 1): Uint8Array {
  checkLayout(blockSize, firmwareId);
  const p = loadProfile(board);
  const sha = p.crypto.includes("SHA256");
  const s: Session = { imageId: 0, version, board: p.code, size: payload.length, blockSize, blockCount: Math.ceil(payload.length / blockSize), activateAt: 0, digest: new Uint8Array(32) };
  const chain = digestChain(sha ? hostNative : hostNativeNoSha, s);
  for (let i = 0; i < s.blockCount; i++) chain.step(payload.subarray(i * blockSize, Math.min(payload.length, (i + 1) * blockSize)));
  const digest = new Uint8Array(32);
  digest.set(sha ? chain.result() : chain.result().subarray(0, 4));
  const head = encodeImageFile({ board: p.code, firmwareId, blockSize, version, size: payload.length, blockCount: s.blockCount, digest }, hostNative);
  const out = new Uint8Array(IMAGE_FILE_HEADER + payload.length);
  out.set(head);
  out.set(payload, IMAGE_FILE_HEADER);
  return out;
}

/**
 * The digest the meters check in campaign `imageId` for an image file: the file's own is
 * made with no campaign (imageId 0), the session's binds the campaign's id. The kind (SHA-256
 * or CRC-32 chain) follows the file's. Null for a file that is not an image file.
 */
export function campaignDigest(file: Uint8Array, imageId: number): Uint8Array | null {
  const h = decodeImageFile(file, hostNative);
  if (typeof h === "number") return null;
  const sha = h.digest.subarray(4).some((b) => b !== 0);
  const payload = file.subarray(IMAGE_FILE_HEADER);
  const s: Session = { imageId, version: h.version, board: h.board, size: h.size, blockSize: h.blockSize, blockCount: h.blockCount, activateAt: 0, digest: new Uint8Array(32) };
  const chain = digestChain(sha ? hostNative : hostNativeNoSha, s);
  for (let i = 0; i < s.blockCount; i++) chain.step(payload.subarray(i * h.blockSize, Math.min(payload.length, (i + 1) * h.blockSize)));
  const digest = new Uint8Array(32);
  digest.set(sha ? chain.result() : chain.result().subarray(0, 4));
  return digest;
}

function main(argv: string[]): number {
  const arg = (n: string) => { const i = argv.indexOf(n); return i >= 0 ? argv[i + 1] : undefined; };
  try {
    const board = arg("--board"), out = arg("--out"), version = Number(arg("--version"));
    if (!board || !out) throw new PackError("usage: image --board B --version N [--firmware-id F] [--block-size S] --out FILE");
    const f = imageFile(board, version, arg("--block-size") === undefined ? 200 : Number(arg("--block-size")), arg("--firmware-id") === undefined ? 1 : Number(arg("--firmware-id")));
    writeFileSync(out, f);
    console.log(`image: ${out}: ${f.length} bytes, meter v${version} for ${board}, ${Math.ceil((f.length - IMAGE_FILE_HEADER) / (arg("--block-size") === undefined ? 200 : Number(arg("--block-size"))))} blocks`);
    return 0;
  } catch (e) {
    if (e instanceof PackError) { console.error(`image: ${e.message}`); return 2; }
    throw e;
  }
}

if (process.argv[1] && process.argv[1].endsWith("image.ts")) process.exitCode = main(process.argv.slice(2));
