/*
 * npm run keys: the head-end's keys (docs/security.md).
 *   npm run keys -- new --meters 1001-1008,2001 --out keys.json [--force]
 *       a fresh random root key per meter; the file stays at the head-end
 *   npm run keys -- concentrator --keys keys.json --out ml.keys
 *       the link keys the concentrator needs (flash.sh --keys writes them for you)
 *   npm run keys -- authorise --keys keys.json --image meter-v2.mlim --image-id 7 [--meters 1001,1002] [--rollback] --out img.tags
 *       authorisation tags for one campaign (image, version, campaign id, each meter);
 *       upload with espruino --storage img.tags:img.tags, then update("img.bin", {imageId: 7, tags: "img.tags"})
 * Errors exit 2 with one line naming the problem.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { concentratorKeyFile, KeyError, loadKeys, newKeys, rootKey, tagFor, tagsFile } from "./keyfile";
import { decodeImageFile } from "../../firmware/common/image-file";
import { campaignDigest } from "../image/image";
import { TAG_INSTALL, TAG_ROLLBACK } from "../../firmware/common/hmac";
import { hostNative } from "../../hal/mock/native";

export function parseIds(spec: string): number[] {
  const ids: number[] = [];
  for (const part of spec.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new KeyError(`--meters: "${part}" is not an id or a range a-b`);
    const a = +m[1], b = m[2] === undefined ? a : +m[2];
    if (a < 1 || b > 0xfffffffe || b < a || b - a > 100000) throw new KeyError(`--meters: "${part}" is out of range`);
    for (let i = a; i <= b; i++) ids.push(i);
  }
  return ids;
}

export function run(argv: string[], print: (l: string) => void): void {
  const arg = (n: string) => { const i = argv.indexOf(n); return i >= 0 ? argv[i + 1] : undefined; };
  const need = (n: string) => { const v = arg(n); if (!v) throw new KeyError(`${n} is required`); return v; };
  const cmd = argv[0];
  if (cmd === "new") {
    const out = need("--out");
    if (existsSync(out) && !argv.includes("--force")) throw new KeyError(`${out} exists: a new key file would orphan the meters provisioned with it (--force to replace it)`);
    const k = newKeys(parseIds(need("--meters")));
    writeFileSync(out, JSON.stringify(k, null, 1) + "\n", { mode: 0o600 });
    print(`keys: ${out}: ${Object.keys(k.meters).length} meter keys (keep it at the head-end)`);
  } else if (cmd === "concentrator") {
    const k = loadKeys(need("--keys")), out = need("--out");
    const f = concentratorKeyFile(k);
    writeFileSync(out, f);
    print(`keys: ${out}: link keys of ${f.length / 36} meters for the concentrator's Storage (ml.keys)`);
  } else if (cmd === "authorise") {
    const k = loadKeys(need("--keys")), out = need("--out"), img = need("--image");
    const imageId = Number(need("--image-id"));
    if (!Number.isInteger(imageId) || imageId < 1 || imageId > 0xffff) throw new KeyError("--image-id must be a whole number from 1 to 65535 (the campaign's)");
    if (!existsSync(img)) throw new KeyError(`--image ${img}: no such file`);
    const file = new Uint8Array(readFileSync(img));
    const head = decodeImageFile(file, hostNative);
    const digest = campaignDigest(file, imageId);
    if (typeof head === "number" || !digest) throw new KeyError(`--image ${img}: not an image file (make one with npm run image)`);
    const ids = arg("--meters") ? parseIds(arg("--meters")!) : Object.keys(k.meters).map(Number);
    const kind = argv.includes("--rollback") ? TAG_ROLLBACK : TAG_INSTALL;
    const entries = ids.map((id) => {
      const root = rootKey(k, id);
      if (!root) throw new KeyError(`--meters: meter ${id} has no key in the key file`);
      return { id, kind, tag: tagFor(root, kind, digest, head.version, id, imageId) };
    });
    writeFileSync(out, tagsFile(entries));
    print(`keys: ${out}: ${kind === TAG_ROLLBACK ? "rollback" : "install"} tags for ${entries.length} meters, image v${head.version}, campaign ${imageId}`);
  } else throw new KeyError("usage: keys new | concentrator | authorise (see tools/keys/keys.ts)");
}

if (process.argv[1] && process.argv[1].endsWith("keys.ts")) {
  try { run(process.argv.slice(2), (l) => console.log(l)); } catch (e) {
    if (e instanceof KeyError) { console.error(`keys: ${e.message}`); process.exitCode = 2; } else throw e;
  }
}
