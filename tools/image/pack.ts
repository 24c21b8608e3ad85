/*
 * Packs a meter program into an update image: the app header (magic, length, CRC-32,
 * version) and the board's meter bundle, as the boot routine expects it in the app region.
 * Upload it to a concentrator's Storage and start a campaign there:
 *
 *   npm run pack -- --board ESPRUINOBOARD --version 2 --out meter-v2.img
 *   npx espruino -p PORT --storage img.bin:meter-v2.img -e 'meterline.update("img.bin",{imageId:2,version:2})'
 *
 * Errors exit 1 with one line naming the problem.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeAppHeader } from "../../firmware/common/image";
import { hostNative } from "../../hal/mock/native";
import { loadProfile, ProfileError } from "../profiles/profiles";

export class PackError extends Error {}

export function packImage(board: string, version: number, dist = "dist"): Uint8Array {
  let p;
  try { p = loadProfile(board); } catch (e) { throw new PackError(e instanceof ProfileError ? e.message : String(e)); }
  if (!p.roles.includes("meter")) throw new PackError(`board ${board} takes no meter role: ${p.rolesWhy}`);
  if (!Number.isInteger(version) || version < 1 || version > 0xffffffff) throw new PackError("--version must be a whole number from 1 to 4294967295");
  const f = join(dist, board, "meter.js");
  if (!existsSync(f)) throw new PackError(`${f} is missing: run npm run build`);
  const program = Buffer.from(readFileSync(f, "utf8").replace(/\n\/\/# sourceMappingURL=.*\s*$/, ""), "latin1");
  const image = Buffer.concat([encodeAppHeader({ length: program.length, crc: hostNative.crc32(program), version }), program]);
  if (image.length > p.maxImageSize) throw new PackError(`the image is ${image.length} bytes; board ${board} takes at most ${p.maxImageSize}`);
  return new Uint8Array(image);
}

function main(argv: string[]): void {
  const arg = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const board = arg("--board"), version = Number(arg("--version")), out = arg("--out");
  try {
    if (!board || !out) throw new PackError("usage: pack --board B --version N --out FILE");
    const img = packImage(board, version);
    writeFileSync(out, img);
    console.log(`pack: ${out}: ${img.length} bytes, meter v${version} for ${board}`);
  } catch (e) {
    console.error(`pack: ${(e as Error).message}`);
    process.exit(1);
  }
}

if (process.argv[1] && process.argv[1].endsWith("pack.ts")) main(process.argv.slice(2));
