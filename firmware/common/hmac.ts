/*
 * HMAC-SHA256 (RFC 2104) over the board's one-shot native SHA-256, in two buffers
 * allocated once: ipad-key | message, and opad-key | inner digest. Keys are at most 64
 * bytes (ours are 16). Boards without native SHA-256 get null: they cannot authenticate.
 *
 * Key separation: a meter's root key K (provisioned, kept by the head-end) gives
 *   down = HMAC(K, "meterline down")[0..16]      commands to the meter
 *   up   = HMAC(K, "meterline up")[0..16]        its replies
 *   auth = HMAC(K, "meterline authorise")[0..16] image authorisation tags (head-end only)
 * The concentrator holds down and up for each meter, never K or auth. A campaign's block
 * key, which authenticates its broadcast blocks, reaches each meter wrapped under auth
 * (wrapKey below) and bound by its tag.
 */
import type { Native } from "../../hal/types";
import { U8, sub } from "./bytes";

export var KEY_SIZE = 16;

export interface Hmac {
  /**
   * HMAC(key, data[0..len) | extra as u32 little endian when given) truncated to outLen
   * bytes into out[at..].
   */
  mac(key: Uint8Array, data: Uint8Array, len: number, out: Uint8Array, at: number, outLen: number, extra?: number): void;
  /** A key derived from `root` for `label`. */
  derive(root: Uint8Array, label: string): Uint8Array;
}

export function hmacSha256(native: Native, maxData: number): Hmac | null {
  var sha = native.sha256;
  if (!sha) return null;
  var hash: (d: Uint8Array) => Uint8Array = sha;
  var inner = new U8(64 + maxData + 4);
  var outer = new U8(96);
  function mac(key: Uint8Array, data: Uint8Array, len: number, out: Uint8Array, at: number, outLen: number, extra?: number): void {
    for (var i = 0; i < 64; i++) {
      var k = i < key.length ? key[i] : 0;
      inner[i] = k ^ 0x36;
      outer[i] = k ^ 0x5c;
    }
    inner.set(sub(data, 0, len), 64);
    var n = 64 + len;
    if (extra !== undefined) {
      for (var e = 0; e < 4; e++) inner[n + e] = (extra >>> (8 * e)) & 0xff;
      n += 4;
    }
    outer.set(hash(sub(inner, 0, n)), 64);
    var d = hash(outer);
    for (var j = 0; j < outLen; j++) out[at + j] = d[j];
  }
  return {
    mac: mac,
    derive: function (root, label) {
      var b = new U8(label.length);
      for (var i = 0; i < label.length; i++) b[i] = label.charCodeAt(i);
      var k = new U8(KEY_SIZE);
      mac(root, b, b.length, k, 0, KEY_SIZE);
      return k;
    },
  };
}

/** The authorisation key of root key `root` (the table above). */
export function authKeyOf(h: Hmac, root: Uint8Array): Uint8Array {
  return h.derive(root, "meterline authorise");
}

/** The down and up link keys of root key `root` (the table above). */
export function linkKeysOf(h: Hmac, root: Uint8Array): { down: Uint8Array; up: Uint8Array } {
  return { down: h.derive(root, "meterline down"), up: h.derive(root, "meterline up") };
}

/** Bytes of a hex string of `n` bytes, or null. */
export function hexKey(s: any, n: number): Uint8Array | null {
  if (typeof s !== "string" || s.length !== n * 2 || !/^[0-9a-fA-F]+$/.test(s)) return null;
  var k = new U8(n);
  for (var i = 0; i < n; i++) k[i] = parseInt(s.substr(i * 2, 2), 16);
  return k;
}

/** Constant-time comparison of a[ai..ai+n) and b[bi..bi+n). */
export function sameBytes(a: Uint8Array, ai: number, b: Uint8Array, bi: number, n: number): boolean {
  var d = 0;
  for (var i = 0; i < n; i++) d |= a[ai + i] ^ b[bi + i];
  return d === 0;
}

/** Authorisation kinds: install an image newer than the floor, or roll back to an older one. */
export var TAG_INSTALL = 1;
export var TAG_ROLLBACK = 2;
/** A key rotation's tag (rotationInput). */
export var TAG_ROTATE = 3;
export var TAG_SIZE = 16;
export var TAG_INPUT = 76;

/** What a tag binds: the campaign's image, every field its UPDATE_CONTROL names but the time. */
export interface TagImage { imageId: number; version: number; board: number; size: number; blockSize: number; blockCount: number; digest: Uint8Array }

/**
 * What an authorisation tag is computed over, into out[0..60), little endian: "MLA" | kind |
 * digest (32) | version u32 | meter id u32 | imageId u16 (the campaign) | board u16 | size
 * u32 | blockSize u16 | blockCount u16 | floor u32 | block key (16). `floor`: for a
 * rollback, the anti-rollback floor the meter has when it takes it (the highest version
 * that confirmed itself there), so a newer campaign's confirmation retires every older
 * rollback tag; 0 for an install. `blockKey`: the campaign's key for its broadcast blocks.
 * The tag is HMAC(auth key, this)[0..16]; the head-end computes it, the meter checks it.
 */
export function tagInput(out: Uint8Array, kind: number, s: TagImage, meterId: number, floor: number, blockKey: Uint8Array): void {
  out[0] = 0x4d; out[1] = 0x4c; out[2] = 0x41; out[3] = kind;
  out.set(sub(s.digest, 0, 32), 4);
  out.set(sub(blockKey, 0, KEY_SIZE), 60);
  // (offset, bytes, value) of each number after the digest
  var f = [36, 4, s.version, 40, 4, meterId, 44, 2, s.imageId, 46, 2, s.board, 48, 4, s.size, 52, 2, s.blockSize, 54, 2, s.blockCount, 56, 4, floor];
  for (var k = 0; k < f.length; k += 3) for (var i = 0; i < f[k + 1]; i++) out[f[k] + i] = (f[k + 2] >>> (8 * i)) & 0xff;
}

/**
 * What a key rotation's tag is computed over: tagInput's 76 bytes with kind TAG_ROTATE, no
 * image (zeros), the new key's generation in the floor's place and the new root key in the
 * block key's. The tag is HMAC(current auth key, this)[0..16] and the new key travels
 * wrapped as a block key does (wrapKey): the tag is its synthetic IV.
 */
export function rotationInput(out: Uint8Array, meterId: number, gen: number, root: Uint8Array): void {
  // no image: its digest zeros, and its numbers, absent, write as zeros (undefined >>> n is 0)
  tagInput(out, TAG_ROTATE, { digest: new U8(32) } as TagImage, meterId, gen, root);
}

/**
 * The campaign's block key travels to each meter wrapped under that meter's authorisation
 * key: wrapped = key XOR HMAC(auth, tag)[0..16], and the tag covers the key itself
 * (tagInput), so the tag is a synthetic IV: another key gives another tag and another
 * stream, and a wrapped key altered on the way gives a tag that does not check. (The
 * stream's input is the 16-byte tag, a tag's input 76 bytes: the two never meet.)
 * XORs src[0..16) with that stream into out[0..16): wraps and unwraps alike.
 */
export function wrapKey(h: Hmac, auth: Uint8Array, tag: Uint8Array, src: Uint8Array, out: Uint8Array): void {
  h.mac(auth, tag, TAG_SIZE, out, 0, KEY_SIZE);
  for (var i = 0; i < KEY_SIZE; i++) out[i] ^= src[i];
}
