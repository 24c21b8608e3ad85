/*
 * npm run keys: the head-end's keys (docs/security.md).
 *   npm run keys -- new --meters 1001-1008,2001 --out keys.json [--force]
 *       a fresh random root key per meter; the file stays at the head-end
 *   npm run keys -- concentrator --keys keys.json --out ml.keys
 *       the link keys the concentrator needs (flash.sh --keys writes them for you)
 *   npm run keys -- authorise --keys keys.json --image meter-v2.mlim --image-id 7 [--meters 1001,1002] [--rollback --floor N] --out img.tags
 *       authorisation tags for one campaign (image, version, campaign id, each meter);
 *       upload with espruino --storage img.tags:img.tags, then update("img.bin", {imageId: 7, tags: "img.tags"})
 *   npm run keys -- rotate --keys keys.json --meters 1001-1003 --out rot.bin
 *       each meter's next key (kept in keys.json under "next"), and the concentrator's rotation
 *       file: upload it (npm run console -- --upload rot.bin:rot.up) and run meterline.rotate("rot.up") there
 *   npm run keys -- rotate --commit --keys keys.json --meters 1001-1003
 *       the meters the concentrator said are on their new keys: their next keys become the keys
 * authorise signs only a whole image file: its payload as long as its header says and
 * matching the header's digest. Each command has its own --help; a bad argument exits 2, a
 * failure (a key file or an image that is not right, a file that cannot be written) 1, with
 * one line (tools/cli/cli.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { authorisationFor, blockKeyFor, commitRotation, concentratorKeyFile, KeyError, loadKeys, newKeys, rootKey, rotationFile, tagsFile, type KeyFile } from "./keyfile";
import { renameSync } from "node:fs";
import { campaignDigest, checkImageFile } from "../image/image";
import { TAG_INSTALL, TAG_ROLLBACK } from "../../firmware/common/hmac";
import { cli, int, isMain, ToolError, UsageError, writeOutput, type Parsed, type ToolGroup } from "../cli/cli";
import { Id } from "../../firmware/protocol/catalogue";

export const TOOL: ToolGroup = {
  name: "keys", run: "npm run keys --",
  about: "The head-end's keys (docs/security.md): a root key per meter, the link keys a concentrator needs,\nand the authorisation tags of a campaign.",
  commands: {
    new: {
      name: "keys", run: "npm run keys -- new",
      about: "A fresh random root key for each meter.\nThe key file stays at the head-end (written with mode 600).",
      options: {
        meters: { type: "string", value: "IDS", required: true, help: "meter ids and ranges, e.g. 1001-1008,2001" },
        out: { type: "string", value: "FILE", required: true, help: "the key file to write" },
        force: { type: "boolean", default: false, help: "replace an existing key file (its meters can no longer be reached)" },
      },
      examples: ["npm run keys -- new --meters 1001-1008,2001 --out keys.json"],
    },
    concentrator: {
      name: "keys", run: "npm run keys -- concentrator",
      about: "The link keys a concentrator needs.\nOne record per meter of the key file, for the concentrator's Storage file ml.keys (flash.sh --keys\nwrites them for you).",
      options: {
        keys: { type: "string", value: "FILE", required: true, help: "the head-end's key file" },
        out: { type: "string", value: "FILE", required: true, help: "the concentrator's key file to write" },
      },
      examples: ["npm run keys -- concentrator --keys keys.json --out ml.keys"],
    },
    authorise: {
      name: "keys", run: "npm run keys -- authorise",
      about: "The authorisation tags of one campaign.\nFor each meter, a tag over the image as the campaign's control names it (id, version, board,\nsize, block size and count, digest), the campaign's block key (made from the key file's head\nsecret, and wrapped for each meter) and, for a rollback, the floor it rolls back from.\nOnly a whole image file is signed (its length and digest are checked first). Upload the tags\nbeside the image: deploy --tags, or espruino --storage img.tags:FILE.",
      options: {
        keys: { type: "string", value: "FILE", required: true, help: "the head-end's key file" },
        image: { type: "string", value: "FILE", required: true, help: "the image file (npm run image)" },
        "image-id": { type: "string", value: "N", required: true, help: "the campaign's image id, 1 to 65535" },
        meters: { type: "string", value: "IDS", help: "only these meter ids and ranges (default: every meter of the key file)" },
        rollback: { type: "boolean", default: false, help: "rollback tags (to an older version) instead of install tags; needs --floor" },
        floor: { type: "string", value: "N", help: "with --rollback: the meters' anti-rollback floor now (the highest version that confirmed itself on them); the tag is good only while it is" },
        out: { type: "string", value: "FILE", required: true, help: "the tags file to write" },
      },
      examples: ["npm run keys -- authorise --keys keys.json --image meter-v2.mlim --image-id 7 --out img.tags"],
    },
    rotate: {
      name: "keys", run: "npm run keys -- rotate",
      about: "Key rotation of keyed meters (docs/security.md, Key rotation).\nWithout --commit: gives each meter its next key (a rotation made before and not committed is\nmade again, the same), keeps it in the key file under \"next\", and writes the concentrator's\nrotation file: each new key wrapped under the meter's current one, and the new link keys.\nUpload it (npm run console -- --port P --upload rot.bin:rot.up) and run\nmeterline.rotate(\"rot.up\") on the concentrator (not as ml.rot: that name is its own). With --commit: the meters\nthe concentrator reported on their new keys; their next keys become their keys (the old\nones are kept under \"previous\"), and authorise makes their tags with them from then on.",
      options: {
        keys: { type: "string", value: "FILE", required: true, help: "the head-end's key file (rewritten)" },
        meters: { type: "string", value: "IDS", help: "meter ids and ranges (default: every meter of the key file; with --commit, required)" },
        out: { type: "string", value: "FILE", help: "the concentrator's rotation file to write (required without --commit)" },
        commit: { type: "boolean", default: false, help: "the rotation of --meters finished: make their next keys their keys" },
      },
      examples: ["npm run keys -- rotate --keys keys.json --meters 1001-1003 --out rot.bin", "npm run keys -- rotate --commit --keys keys.json --meters 1001-1003"],
    },
  },
  examples: ["npm run keys -- new --meters 1001-1008 --out keys.json", "npm run keys -- rotate --keys keys.json --meters 1001-1008 --out rot.bin", "npm run keys -- authorise --keys keys.json --image meter-v2.mlim --image-id 7 --out img.tags"],
};

export function parseIds(spec: string): number[] {
  const ids: number[] = [];
  for (const part of spec.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new UsageError(`--meters: "${part}" is not an id or a range a-b`);
    const a = +m[1], b = m[2] === undefined ? a : +m[2];
    if (a < 1 || b > Id.MAX_METER || b < a || b - a > 100000) throw new UsageError(`--meters: "${part}" is out of range`);
    for (let i = a; i <= b; i++) ids.push(i);
  }
  return ids;
}

function command({ tool, values: v }: Parsed, print: (l: string) => void): void {
  const s = (n: string) => v[n] as string;
  if (tool === TOOL.commands.new) {
    const out = s("out"), ids = parseIds(s("meters"));
    if (existsSync(out) && !v.force) throw new ToolError(`${out} exists: a new key file would orphan the meters provisioned with it (--force to replace it)`);
    const k = newKeys(ids);
    writeOutput("--out", out, JSON.stringify(k, null, 1) + "\n", 0o600);
    print(`keys: ${out}: ${Object.keys(k.meters).length} meter keys (keep it at the head-end)`);
  } else if (tool === TOOL.commands.concentrator) {
    const k = loadKeys(s("keys")), out = s("out");
    const f = concentratorKeyFile(k);
    writeOutput("--out", out, f);
    print(`keys: ${out}: link keys of ${f.length / 36} meters for the concentrator's Storage (ml.keys)`);
  } else if (tool === TOOL.commands.rotate) {
    const file = s("keys"), k = loadKeys(file);
    if (v.commit && v.meters === undefined) throw new UsageError("--commit needs --meters: the meters the concentrator reported on their new keys");
    if (v.commit && v.out !== undefined) throw new UsageError("--out goes without --commit: a commit writes only the key file");
    if (!v.commit && v.out === undefined) throw new UsageError("--out FILE is required: the concentrator's rotation file");
    const ids = v.meters !== undefined ? parseIds(s("meters")) : Object.keys(k.meters).map(Number);
    for (const id of ids) if (!rootKey(k, id)) throw new ToolError(`--meters: meter ${id} has no key in ${file}`);
    let next: KeyFile, out: Uint8Array | null = null;
    try {
      if (v.commit) next = commitRotation(k, ids);
      else ({ keys: next, file: out } = rotationFile(k, ids));
    } catch (e) {
      throw e instanceof KeyError ? new ToolError(e.message) : e;
    }
    // the key file first (the next keys kept before any rotation file carries them), replaced
    // whole: written beside it, then renamed over it
    writeOutput("--keys", file + ".tmp", JSON.stringify(next, null, 1) + "\n", 0o600);
    renameSync(file + ".tmp", file);
    if (out) writeOutput("--out", s("out"), out);
    if (v.commit) print(`keys: ${file}: ${ids.length} meters on their new keys (the old ones kept under "previous")`);
    else print(`keys: ${s("out")}: rotation of ${ids.length} meters (generations ${[...new Set(ids.map((id) => next.next![String(id)].gen))].join(", ")}); ${file} keeps their next keys until rotate --commit`);
  } else {
    const imageId = int("--image-id", s("image-id"), 1, 0xffff, "a whole number from 1 to 65535 (the campaign's)")!;
    const ids = v.meters !== undefined ? parseIds(s("meters")) : null;
    const k = loadKeys(s("keys")), out = s("out"), img = s("image");
    if (!existsSync(img)) throw new ToolError(`--image ${img}: no such file`);
    const file = new Uint8Array(readFileSync(img));
    const head = checkImageFile(file);
    if (typeof head === "string") throw new ToolError(`--image ${img}: ${head}: nothing signed`);
    const digest = campaignDigest(file, imageId);
    const kind = v.rollback ? TAG_ROLLBACK : TAG_INSTALL;
    if (v.rollback && v.floor === undefined) throw new UsageError("--rollback needs --floor N: the version the meters roll back from (their anti-rollback floor)");
    if (!v.rollback && v.floor !== undefined) throw new UsageError("--floor goes with --rollback only");
    const floor = v.rollback ? int("--floor", s("floor"), 1, 0xffffffff, "a version from 1 to 4294967295")! : 0;
    const image = { imageId, version: head.version, board: head.board, size: head.size, blockSize: head.blockSize, blockCount: head.blockCount, digest };
    const blockKey = blockKeyFor(k, digest, s("keys"));
    const entries = (ids ?? Object.keys(k.meters).map(Number)).map((id) => {
      const root = rootKey(k, id);
      if (!root) throw new ToolError(`--meters: meter ${id} has no key in the key file`);
      return authorisationFor(root, kind, image, id, blockKey, floor);
    });
    writeOutput("--out", out, tagsFile(blockKey, digest, entries));
    print(`keys: ${out}: ${kind === TAG_ROLLBACK ? `rollback tags (from floor ${floor})` : "install tags"} for ${entries.length} meters, image v${head.version}, campaign ${imageId}`);
  }
}

if (isMain(import.meta.url)) cli(TOOL, (a) => command(a, (l) => console.log(l)));
