/*
 * The head-end's key file and what is made from it (docs/security.md). Host code.
 *   { "format": "meterline-keys/1", "meters": { "1001": "<32 hex digits>", ... } }
 * Each meter's root key K stays here and in the meter. The concentrator gets only the link
 * keys (down, up) derived from it; authorisation tags are computed here, under the
 * authorisation key, which nothing else holds.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { hexKey, hmacSha256, KEY_SIZE, TAG_INPUT, TAG_ROLLBACK, TAG_SIZE, tagInput, type TagImage } from "../../firmware/common/hmac";
import { hostNative } from "../../hal/host/native";
import { KEY_RECORD } from "../../firmware/concentrator/keystore";
import type { LinkKeys } from "../../firmware/link/auth";

export const KEY_FORMAT = "meterline-keys/1";

export class KeyError extends Error {}

export interface KeyFile { format: string; meters: Record<string, string> }

const hmac = hmacSha256(hostNative, 300)!;

export function newKeys(ids: number[]): KeyFile {
  const meters: Record<string, string> = {};
  for (const id of ids) meters[String(id)] = randomBytes(KEY_SIZE).toString("hex");
  return { format: KEY_FORMAT, meters };
}

export function loadKeys(file: string): KeyFile {
  if (!existsSync(file)) throw new KeyError(`${file}: no such key file`);
  let k: KeyFile;
  try { k = JSON.parse(readFileSync(file, "utf8")); } catch (e) { throw new KeyError(`${file}: not JSON (${(e as Error).message})`); }
  if (!k || k.format !== KEY_FORMAT || typeof k.meters !== "object") throw new KeyError(`${file}: not a meterline key file (format "${KEY_FORMAT}")`);
  for (const [id, hex] of Object.entries(k.meters)) {
    if (!/^\d+$/.test(id) || +id < 1 || +id > 0xfffffffe) throw new KeyError(`${file}: meters["${id}"]: not a meter id`);
    if (!hexKey(hex, KEY_SIZE)) throw new KeyError(`${file}: meters["${id}"]: the key must be ${KEY_SIZE * 2} hex digits`);
  }
  return k;
}

export function rootKey(k: KeyFile, id: number): Uint8Array | null {
  const h = k.meters[String(id)];
  return h ? hexKey(h, KEY_SIZE) : null;
}

export function linkKeys(root: Uint8Array): LinkKeys {
  return { down: hmac.derive(root, "meterline down"), up: hmac.derive(root, "meterline up") };
}

/** The concentrator's key file (Storage "ml.keys"): id | down | up per meter, sorted by id. */
export function concentratorKeyFile(k: KeyFile): Uint8Array {
  const ids = Object.keys(k.meters).map(Number).sort((a, b) => a - b);
  const out = new Uint8Array(ids.length * KEY_RECORD);
  ids.forEach((id, i) => {
    const l = linkKeys(rootKey(k, id)!);
    new DataView(out.buffer).setUint32(i * KEY_RECORD, id, true);
    out.set(l.down, i * KEY_RECORD + 4);
    out.set(l.up, i * KEY_RECORD + 20);
  });
  return out;
}

/**
 * The authorisation tag for meter `id`: kind 1 install or 2 rollback, over the campaign's
 * image as its control names it (id, version, board, size, block size and count, digest)
 * and, for a rollback, the floor the meter rolls back from (firmware/common/hmac.ts tagInput).
 */
export function tagFor(root: Uint8Array, kind: number, image: TagImage, id: number, floor = 0): Uint8Array {
  const input = new Uint8Array(TAG_INPUT), tag = new Uint8Array(TAG_SIZE);
  tagInput(input, kind, image, id, kind === TAG_ROLLBACK ? floor : 0);
  hmac.mac(hmac.derive(root, "meterline authorise"), input, TAG_INPUT, tag, 0, TAG_SIZE);
  return tag;
}

/** The tags file the concentrator relays (Storage "img.tags"): id u32 | kind u8 | 0 0 0 | tag 16, sorted by id. */
export function tagsFile(entries: { id: number; kind: number; tag: Uint8Array }[]): Uint8Array {
  const sorted = [...entries].sort((a, b) => a.id - b.id);
  const out = new Uint8Array(sorted.length * 24);
  sorted.forEach((e, i) => {
    new DataView(out.buffer).setUint32(i * 24, e.id, true);
    out[i * 24 + 4] = e.kind;
    out.set(e.tag, i * 24 + 8);
  });
  return out;
}
