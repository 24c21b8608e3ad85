/*
 * The head-end's key file and what is made from it (docs/security.md). Host code.
 *   { "format": "meterline-keys/1", "head": "<32 hex digits>", "meters": { "1001": "<32 hex digits>", ... } }
 * Each meter's root key K stays here and in the meter. The concentrator gets only the link
 * keys (down, up) derived from it; authorisation tags are computed here, under the
 * authorisation key, which nothing else holds. `head`, the head-end's own secret, gives each
 * campaign its block key (blockKeyFor): the same campaign always gets the same one.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { authKeyOf, hexKey, hmacSha256, KEY_SIZE, linkKeysOf, rotationInput, TAG_INPUT, TAG_ROLLBACK, TAG_SIZE, tagInput, wrapKey, type TagImage } from "../../firmware/common/hmac";
import { hostNative } from "../../hal/host/native";
import { KEY_RECORD, ROT_RECORD, Rr, TAGS_RECORD } from "../../firmware/concentrator/keystore";
export { TAGS_RECORD };
import type { LinkKeys } from "../../firmware/link/auth";
import { Id, Kv } from "../../firmware/protocol/catalogue";

export const KEY_FORMAT = "meterline-keys/1";

export class KeyError extends Error {}

/**
 * `meters`: each meter's root key in use; `generations`: its generation (absent: 0, as
 * provisioned); `next`: a rotation made (keys rotate) and not committed yet; `previous`:
 * the key a commit replaced, kept in case a meter did not take its new one after all.
 */
export interface KeyFile {
  format: string; head?: string; meters: Record<string, string>;
  generations?: Record<string, number>; next?: Record<string, { gen: number; key: string }>; previous?: Record<string, string>;
}

const hmac = hmacSha256(hostNative, 300)!;

export function newKeys(ids: number[]): KeyFile {
  const meters: Record<string, string> = {};
  for (const id of ids) meters[String(id)] = randomBytes(KEY_SIZE).toString("hex");
  return { format: KEY_FORMAT, head: randomBytes(KEY_SIZE).toString("hex"), meters };
}

export function loadKeys(file: string): KeyFile {
  if (!existsSync(file)) throw new KeyError(`${file}: no such key file`);
  let k: KeyFile;
  try { k = JSON.parse(readFileSync(file, "utf8")); } catch (e) { throw new KeyError(`${file}: not JSON (${(e as Error).message})`); }
  if (!k || k.format !== KEY_FORMAT || typeof k.meters !== "object") throw new KeyError(`${file}: not a meterline key file (format "${KEY_FORMAT}")`);
  if (k.head !== undefined && !hexKey(k.head, KEY_SIZE)) throw new KeyError(`${file}: head: the head-end's secret must be ${KEY_SIZE * 2} hex digits`);
  for (const [id, hex] of Object.entries(k.meters)) {
    if (!/^\d+$/.test(id) || +id < 1 || +id > Id.MAX_METER) throw new KeyError(`${file}: meters["${id}"]: not a meter id`);
    if (!hexKey(hex, KEY_SIZE)) throw new KeyError(`${file}: meters["${id}"]: the key must be ${KEY_SIZE * 2} hex digits`);
  }
  for (const [id, n] of Object.entries(k.next ?? {})) {
    if (!k.meters[id]) throw new KeyError(`${file}: next["${id}"]: a rotation of a meter the file has no key for`);
    if (!n || !Number.isInteger(n.gen) || n.gen < 1 || n.gen > 0xffffffff || !hexKey(n.key, KEY_SIZE)) throw new KeyError(`${file}: next["${id}"]: needs gen (1 to 4294967295) and key (${KEY_SIZE * 2} hex digits)`);
  }
  for (const [id, g] of Object.entries(k.generations ?? {})) {
    if (!k.meters[id] || !Number.isInteger(g) || g < 0 || g > 0xffffffff) throw new KeyError(`${file}: generations["${id}"]: a whole number from 0 for a meter of the file`);
  }
  return k;
}

export function rootKey(k: KeyFile, id: number): Uint8Array | null {
  const h = k.meters[String(id)];
  return h ? hexKey(h, KEY_SIZE) : null;
}

export function linkKeys(root: Uint8Array): LinkKeys {
  return linkKeysOf(hmac, root);
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
 * The block key of the campaign whose digest (it binds the image and the campaign's id) is
 * `digest`: HMAC(head, "meterline blocks" | digest)[0..16]. It signs the campaign's
 * broadcast blocks; each meter gets it wrapped in its authorisation.
 */
export function blockKeyFor(k: KeyFile, digest: Uint8Array, file = "the key file"): Uint8Array {
  const head = k.head === undefined ? null : hexKey(k.head, KEY_SIZE);
  if (!head) throw new KeyError(`${file}: no "head" secret (${KEY_SIZE * 2} hex digits, kept at the head-end), which gives each campaign its block key: keys new makes one; add one to an older file (openssl rand -hex ${KEY_SIZE})`);
  const label = new TextEncoder().encode("meterline blocks"), input = new Uint8Array(label.length + 32), out = new Uint8Array(KEY_SIZE);
  input.set(label);
  input.set(digest.subarray(0, 32), label.length);
  hmac.mac(head, input, input.length, out, 0, KEY_SIZE);
  return out;
}

/**
 * The authorisation tag for meter `id`: kind 1 install or 2 rollback, over the campaign's
 * image as its control names it (id, version, board, size, block size and count, digest),
 * the campaign's block key and, for a rollback, the floor the meter rolls back from
 * (firmware/common/hmac.ts tagInput).
 */
export function tagFor(root: Uint8Array, kind: number, image: TagImage, id: number, blockKey: Uint8Array, floor = 0): Uint8Array {
  const input = new Uint8Array(TAG_INPUT), tag = new Uint8Array(TAG_SIZE);
  tagInput(input, kind, image, id, kind === TAG_ROLLBACK ? floor : 0, blockKey);
  hmac.mac(authKeyOf(hmac, root), input, TAG_INPUT, tag, 0, TAG_SIZE);
  return tag;
}

/** Meter `id`'s authorisation: its tag, and the block key wrapped for it under its authorisation key (wrapKey). */
export function authorisationFor(root: Uint8Array, kind: number, image: TagImage, id: number, blockKey: Uint8Array, floor = 0): Authorisation {
  const tag = tagFor(root, kind, image, id, blockKey, floor), key = new Uint8Array(KEY_SIZE);
  wrapKey(hmac, authKeyOf(hmac, root), tag, blockKey, key);
  return { id, kind, tag, key };
}

/**
 * Meter `id`'s key rotation to root key `next` at generation `gen`, as CONFIG_SET KEY carries
 * it (Kv): gen u32 | `next` wrapped under the authorisation key of `root` (the key the meter
 * holds now) | its tag (rotationInput under that key). Only the head-end can make one.
 */
export function rotationFor(root: Uint8Array, id: number, gen: number, next: Uint8Array): Uint8Array {
  const auth = authKeyOf(hmac, root), input = new Uint8Array(TAG_INPUT), v = new Uint8Array(Kv.LEN);
  new DataView(v.buffer).setUint32(Kv.GEN, gen, true);
  const tag = v.subarray(Kv.TAG, Kv.LEN);
  rotationInput(input, id, gen, next);
  hmac.mac(auth, input, TAG_INPUT, tag, 0, TAG_SIZE);
  wrapKey(hmac, auth, tag, next, v.subarray(Kv.WRAPPED, Kv.TAG));
  return v;
}

/**
 * A rotation of meters `ids` (keys rotate): each gets its next generation's key (the one a
 * rotation made already and nobody committed, or a fresh random one), recorded in the key
 * file's `next`, and a record of the concentrator's rotation file (keystore.ts ROT_RECORD):
 * id u32 | its CONFIG_SET KEY value (rotationFor) | the new down key | the new up key,
 * sorted by id. Returns the key file to keep and the rotation file.
 */
export function rotationFile(k: KeyFile, ids: number[], random: (n: number) => Uint8Array = (n) => randomBytes(n)): { keys: KeyFile; file: Uint8Array } {
  const next = { ...(k.next ?? {}) }, sorted = [...new Set(ids)].sort((a, b) => a - b);
  const file = new Uint8Array(sorted.length * ROT_RECORD);
  sorted.forEach((id, i) => {
    const root = rootKey(k, id);
    if (!root) throw new KeyError(`meter ${id} has no key in the key file`);
    const n = next[String(id)] ?? { gen: (k.generations?.[String(id)] ?? 0) + 1, key: Buffer.from(random(KEY_SIZE)).toString("hex") };
    next[String(id)] = n;
    const key = hexKey(n.key, KEY_SIZE)!, l = linkKeys(key), o = i * ROT_RECORD;
    new DataView(file.buffer).setUint32(o, id, true);
    file.set(rotationFor(root, id, n.gen, key), o + Rr.VALUE);
    file.set(l.down, o + Rr.DOWN);
    file.set(l.up, o + Rr.UP);
  });
  return { keys: { ...k, next }, file };
}

/** The rotation of meters `ids` finished (the concentrator said so): their new keys become the ones in use; the old ones are kept in `previous`. */
export function commitRotation(k: KeyFile, ids: number[]): KeyFile {
  const out: KeyFile = { ...k, meters: { ...k.meters }, generations: { ...(k.generations ?? {}) }, next: { ...(k.next ?? {}) }, previous: { ...(k.previous ?? {}) } };
  for (const id of ids) {
    const n = out.next![String(id)];
    if (!n) throw new KeyError(`meter ${id} has no rotation to commit (keys rotate makes one)`);
    out.previous![String(id)] = out.meters[String(id)];
    out.meters[String(id)] = n.key;
    out.generations![String(id)] = n.gen;
    delete out.next![String(id)];
  }
  return out;
}

export interface Authorisation { id: number; kind: number; tag: Uint8Array; key: Uint8Array }

/** An authorisation as a campaign relays it (CampaignConfig.authorise): kind | tag 16 | wrapped block key 16. */
export function authorisationRecord(a: Authorisation): Uint8Array {
  const r = new Uint8Array(1 + TAG_SIZE + KEY_SIZE);
  r[0] = a.kind;
  r.set(a.tag, 1);
  r.set(a.key, 1 + TAG_SIZE);
  return r;
}


/** True for what tagsFile writes: whole records, the first the block key's (id 0), the rest sorted by id. */
export function isTagsFile(b: Uint8Array): boolean {
  if (!b.length || b.length % TAGS_RECORD) return false;
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  for (let o = 0, last = -1; o < b.length; o += TAGS_RECORD) {
    const id = view.getUint32(o, true);
    if ((o === 0) !== (id === 0) || id <= last) return false;
    last = id;
  }
  return true;
}

/**
 * The tags file the concentrator relays (Storage "img.tags"): records of 40 bytes sorted by
 * id, id u32 | kind u8 | 0 0 0 | tag 16 | wrapped block key 16; the first, id 0, carries
 * the first 16 bytes of the campaign's digest (the concentrator takes the file only for
 * that campaign) and the campaign's block key itself (it signs the broadcast blocks with it).
 */
export function tagsFile(blockKey: Uint8Array, digest: Uint8Array, entries: Authorisation[]): Uint8Array {
  const sorted = [{ id: 0, kind: 0, tag: digest.slice(0, TAG_SIZE), key: blockKey }, ...entries].sort((a, b) => a.id - b.id);
  const out = new Uint8Array(sorted.length * TAGS_RECORD), view = new DataView(out.buffer);
  sorted.forEach((e, i) => {
    const o = i * TAGS_RECORD;
    view.setUint32(o, e.id, true);
    out[o + 4] = e.kind;
    out.set(e.tag, o + 8);
    out.set(e.key, o + 24);
  });
  return out;
}
