/*
 * npm run image: a built meter bundle as an update image file, ready for a campaign:
 * the header (firmware/common/image-file.ts: format, board, firmware id, version, size,
 * block size, block count, digest) and the payload (the app header and the program).
 * `--bare` (npm run pack) writes the payload alone: the app header (magic, length, CRC-32,
 * version) and the board's meter bundle, as the boot routine keeps it in the app region.
 * `--check FILE` reads an image file back: its header, its length and its payload against
 * the header's digest.
 *
 *   npm run image -- --board ESPRUINOBOARD --version 2 --compress [--firmware-id 1] [--block-size 200] --out meter-v2.mlim
 *     (the Original's buffer holds its program only packed: without --compress it is refused, naming the way)
 *   npm run pack -- --board ESPRUINOBOARD --version 2 --out meter-v2.img
 *   npm run image -- --check meter-v2.mlim
 *
 * The digest is the one the board checks: the SHA-256 chain, or the CRC-32 chain on a board
 * without native SHA-256. What it writes is read back and checked before it says so. A bad
 * argument exits 2, a failure (no bundle, an image too large, a file that cannot be written
 * or does not check) 1, with one line (tools/cli/cli.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { digestChain, MAX_BLOCK, type Session } from "../../firmware/common/update-image";
import { decodeImageFile, encodeImageFile, IMAGE_FILE_HEADER, isImageFile, type ImageFileHeader } from "../../firmware/common/image-file";
import { decodePackedHeader, encodeAppHeader, PACKED_MAGIC, packedSession } from "../../firmware/common/image";
import { getU32 } from "../../firmware/common/bytes";
import { decompress } from "./heatshrink";
import { packPayload } from "./packed";
import { hostNative, hostNativeNoSha } from "../../hal/host/native";
import { bufferCapacity, loadProfile, ProfileError } from "../profiles/profiles";
import { cli, int, isMain, ToolError, UsageError, writeOutput, type Tool } from "../cli/cli";

export const TOOL: Tool = {
  name: "image", run: "npm run image --",
  usage: "--board B --version N --out FILE [options] | --check FILE",
  about: "An update image file of the board's built meter bundle (npm run build first): a header (board,\nversion, size, block size and count, the digest the board checks) and the payload (the app header\nand the program). --bare writes the payload alone (npm run pack); --check reads an image file back.",
  options: {
    board: { type: "string", value: "B", help: "the board profile the image is for (one that takes the meter role)" },
    version: { type: "string", value: "N", help: "the program's version, 1 to 4294967295" },
    out: { type: "string", value: "FILE", help: "the file to write" },
    "block-size": { type: "string", value: "S", default: "200", help: `bytes per block on the line, a multiple of 4 from 4 to ${MAX_BLOCK}` },
    "firmware-id": { type: "string", value: "F", default: "1", help: "the firmware id in the header, 0 to 65535" },
    bare: { type: "boolean", default: false, help: "write the bare image (app header and program, no image file header): npm run pack" },
    compress: { type: "boolean", default: false, help: "pack the payload: the program compressed in chunks of the board's packChunk, unpacked by the boot routine at install (meters provisioned with a boot routine that unpacks)" },
    check: { type: "string", value: "FILE", help: "check an image file (header, length, payload against its digest) instead of writing one" },
  },
  examples: ["npm run image -- --board ESPRUINOBOARD --version 2 --compress --out meter-v2.mlim", "npm run image -- --board LINUX --version 2 --out meter-v2.mlim", "npm run pack -- --board ESPRUINOBOARD --version 2 --out meter-v2.img", "npm run image -- --check meter-v2.mlim"],
  notes: ["exit 0; 2 for a bad argument; 1 when the image cannot be made, written or does not check"],
};

/** A built bundle's program as an image carries it: the file without its source-map comment (a ToolError when it is missing). */
export function bundleProgram(file: string): Uint8Array {
  if (!existsSync(file)) throw new ToolError(`${file} is missing: run npm run build`);
  return new Uint8Array(Buffer.from(readFileSync(file, "latin1").replace(/\n\/\/# sourceMappingURL=.*\s*$/, ""), "latin1"));
}

/** The bare image of a built meter bundle for `board`: the app header, then the program. */
export function packImage(board: string, version: number, dist = "dist"): Uint8Array {
  let p;
  try { p = loadProfile(board); } catch (e) { throw new UsageError(e instanceof ProfileError ? e.message : String(e)); }
  if (!p.roles.includes("meter")) throw new UsageError(`board ${board} takes no meter role: ${p.rolesWhy}`);
  if (!Number.isInteger(version) || version < 1 || version > 0xffffffff) throw new UsageError("--version must be a whole number from 1 to 4294967295");
  const program = bundleProgram(join(dist, board, "meter.js"));
  const image = Buffer.concat([encodeAppHeader({ length: program.length, crc: hostNative.crc32(program), version }), program]);
  if (image.length > p.maxImageSize) throw new ToolError(`the image is ${image.length} bytes; board ${board} takes at most ${p.maxImageSize}`);
  return new Uint8Array(image);
}

/** The image file of a built meter bundle for `board`; `compress`: its payload packed (packedImage). */
export function imageFile(board: string, version: number, blockSize = 200, firmwareId = 1, dist = "dist", compress = false): Uint8Array {
  checkLayout(blockSize, firmwareId);
  const plain = packImage(board, version, dist);
  return imageFileOf(compress ? packedImage(plain, board, version, blockSize) : plain, board, version, blockSize, firmwareId);
}

/**
 * A bare image packed for `board` (common/image.ts): compressed in chunks of the board's
 * packChunk, with the plain digest the board checks after unpacking. `maxImageSize` bounds
 * the plain image (packImage checks it); the packed one travels in fewer blocks.
 */
export function packedImage(plain: Uint8Array, board: string, version: number, blockSize: number): Uint8Array {
  const p = loadProfile(board);
  return packPayload(plain, p.packChunk, { version, board: p.code, blockSize }, p.crypto.includes("SHA256") ? hostNative : hostNativeNoSha);
}

function checkLayout(blockSize: number, firmwareId: number): void {
  if (!Number.isInteger(blockSize) || blockSize < 4 || blockSize > MAX_BLOCK || blockSize % 4) throw new UsageError(`--block-size must be a multiple of 4 from 4 to ${MAX_BLOCK}`);
  if (!Number.isInteger(firmwareId) || firmwareId < 0 || firmwareId > 0xffff) throw new UsageError("--firmware-id must be a whole number from 0 to 65535");
}

/** The update digest of `payload` in session `s` (its digest field aside): SHA-256 chain, or the CRC-32 chain in 4 bytes. */
function payloadDigest(payload: Uint8Array, s: Session, sha: boolean): Uint8Array {
  const chain = digestChain(sha ? hostNative : hostNativeNoSha, s);
  for (let i = 0; i < s.blockCount; i++) chain.step(payload.subarray(i * s.blockSize, Math.min(payload.length, (i + 1) * s.blockSize)));
  const digest = new Uint8Array(32);
  digest.set(sha ? chain.result() : chain.result().subarray(0, 4));
  return digest;
}

/** The session of campaign `imageId` for an image file's header (the digest left empty). */
function sessionOf(h: ImageFileHeader, imageId: number): Session {
  return { imageId, version: h.version, board: h.board, size: h.size, blockSize: h.blockSize, blockCount: h.blockCount, activateAt: 0, digest: new Uint8Array(32) };
}

/** The image file of any payload (an app header and a program) for `board`: the header, with the digest that board checks, then the payload. */
export function imageFileOf(payload: Uint8Array, board: string, version: number, blockSize = 200, firmwareId = 1): Uint8Array {
  checkLayout(blockSize, firmwareId);
  const p = loadProfile(board);
  const h: ImageFileHeader = { board: p.code, firmwareId, blockSize, version, size: payload.length, blockCount: Math.ceil(payload.length / blockSize), digest: new Uint8Array(32) };
  // the meter refuses what its buffer cannot hold (83): said here, before a campaign
  const cap = bufferCapacity(p, blockSize);
  if (h.blockCount > cap) throw new ToolError(`the image travels as ${h.blockCount} blocks of ${blockSize} bytes; board ${board}'s buffer holds ${cap}${payload.length >= 4 && getU32(payload, 0) === PACKED_MAGIC ? "" : ": pack it (npm run image -- --compress)"}`);
  h.digest = payloadDigest(payload, sessionOf(h, 0), p.crypto.includes("SHA256"));
  const out = new Uint8Array(IMAGE_FILE_HEADER + payload.length);
  out.set(encodeImageFile(h, hostNative));
  out.set(payload, IMAGE_FILE_HEADER);
  return out;
}

/** An image file's digest kind: SHA-256 when anything past its first 4 bytes is set, else the CRC-32 chain. */
const isSha = (h: ImageFileHeader) => h.digest.subarray(4).some((b) => b !== 0);

/**
 * An image file's header when the file is whole: the header decodes, the payload is as long
 * as the header says, and the payload matches the header's digest. Otherwise what is wrong,
 * as a line.
 */
export function checkImageFile(file: Uint8Array): ImageFileHeader | string {
  if (!isImageFile(file)) return "not an image file (make one with npm run image)";
  const h = decodeImageFile(file, hostNative);
  if (typeof h === "number") return file.length < IMAGE_FILE_HEADER ? "truncated: shorter than the image file header" : "a damaged image file header";
  const have = file.length - IMAGE_FILE_HEADER;
  if (have !== h.size) return `${have < h.size ? "truncated" : "too long"}: the header says ${h.size} bytes of payload, the file holds ${have}`;
  const d = payloadDigest(file.subarray(IMAGE_FILE_HEADER), sessionOf(h, 0), isSha(h));
  if (d.some((b, i) => b !== h.digest[i])) return `the payload does not match the header's ${isSha(h) ? "SHA-256" : "CRC-32"} digest`;
  return h;
}

/**
 * A packed payload's facts when it unpacks on the host to its plain digest (what the boot
 * routine checks), null when the payload is plain, or what is wrong as a line.
 */
export function checkPacked(payload: Uint8Array, h: ImageFileHeader): { plain: number; chunk: number; count: number } | null | string {
  const read = (o: number, n: number) => payload.subarray(o, o + n);
  const pk = decodePackedHeader(read, payload.length);
  if (!pk) return getU32(payload, 0) === PACKED_MAGIC ? "a packed payload whose header does not add up" : null;
  const plain = new Uint8Array(pk.plain);
  for (let c = 0; c < pk.count; c++) {
    const want = Math.min(pk.chunk, pk.plain - c * pk.chunk);
    let got: Uint8Array;
    try { got = decompress(read(pk.offsets[c], pk.offsets[c + 1] - pk.offsets[c]), want); } catch (e) { return `chunk ${c} does not unpack: ${(e as Error).message}`; }
    plain.set(got, c * pk.chunk);
  }
  const s = packedSession(sessionOf(h, 0), pk);
  const d = payloadDigest(plain, s, isSha(h));
  if (d.some((b, i) => b !== pk.digest[i])) return "the unpacked program does not match the packed header's digest";
  return { plain: pk.plain, chunk: pk.chunk, count: pk.count };
}

/**
 * The digest the meters check in campaign `imageId` for an image file: the file's own is
 * made with no campaign (imageId 0), the session's binds the campaign's id. The kind (SHA-256
 * or CRC-32 chain) follows the file's. Only for a whole file (checkImageFile): a ToolError
 * saying what is wrong otherwise.
 */
export function campaignDigest(file: Uint8Array, imageId: number): Uint8Array {
  const h = checkImageFile(file);
  if (typeof h === "string") throw new ToolError(h);
  return payloadDigest(file.subarray(IMAGE_FILE_HEADER), sessionOf(h, imageId), isSha(h));
}

function readImage(path: string): Uint8Array {
  try { return new Uint8Array(readFileSync(path)); } catch (e) {
    throw new ToolError(`${path}: cannot read it: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

if (isMain(import.meta.url)) {
  cli(TOOL, ({ values: v }) => {
    if (v.check !== undefined) {
      if (v.board !== undefined || v.out !== undefined || v.bare) throw new UsageError("--check reads a file: give it alone");
      const path = v.check as string;
      const file = readImage(path), h = checkImageFile(file);
      if (typeof h === "string") throw new ToolError(`${path}: ${h}`);
      const pk = checkPacked(file.subarray(IMAGE_FILE_HEADER), h);
      if (typeof pk === "string") throw new ToolError(`${path}: ${pk}`);
      console.log(`image: ${path}: whole: meter v${h.version} for board ${h.board}, ${h.size} bytes in ${h.blockCount} blocks of ${h.blockSize}, ${isSha(h) ? "SHA-256" : "CRC-32"} digest matches${pk ? `; packed: ${pk.plain} plain bytes in ${pk.count} chunks of ${pk.chunk}, unpacked to its plain digest` : ""}`);
      return 0;
    }
    for (const n of ["board", "version", "out"]) if (v[n] === undefined) throw new UsageError(`--${n} is required: ${TOOL.options[n].help}`);
    const board = v.board as string, out = v.out as string;
    const version = int("--version", v.version as string, 1, 0xffffffff)!;
    if (v.bare) {
      if (v["block-size"] !== "200" || v["firmware-id"] !== "1") throw new UsageError("--bare writes no image file header: --block-size and --firmware-id do not apply");
      if (v.compress) throw new UsageError("--bare writes the plain payload: --compress makes an image file");
      const img = packImage(board, version);
      writeOutput("--out", out, img);
      if (!Buffer.from(readImage(out)).equals(img)) throw new ToolError(`--out ${out}: what was written reads back different`);
      console.log(`image: ${out}: ${img.length} bytes, bare meter v${version} for ${board} (app header and program)`);
      return 0;
    }
    const blockSize = Number(v["block-size"]), firmwareId = Number(v["firmware-id"]);
    const f = imageFile(board, version, blockSize, firmwareId, "dist", v.compress as boolean);
    writeOutput("--out", out, f);
    const back = checkImageFile(readImage(out));
    if (typeof back === "string") throw new ToolError(`--out ${out}: the file written does not check: ${back}`);
    console.log(`image: ${out}: ${f.length} bytes, meter v${version} for ${board}, ${back.blockCount} blocks${v.compress ? ` (packed: ${back.size} bytes that travel)` : ""}`);
    return 0;
  });
}
