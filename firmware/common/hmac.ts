/*
 * HMAC-SHA256 (RFC 2104) over the board's one-shot native SHA-256, in two buffers
 * allocated once: ipad-key | message, and opad-key | inner digest. Keys are at most 64
 * bytes (ours are 16). Boards without native SHA-256 get null: they cannot authenticate.
 *
 * Key separation: a meter's root key K (provisioned, kept by the head-end) gives
 *   down = HMAC(K, "meterline down")[0..16]      commands to the meter
 *   up   = HMAC(K, "meterline up")[0..16]        its replies
 *   auth = HMAC(K, "meterline authorise")[0..16] image authorisation tags (head-end only)
 * The concentrator holds down and up for each meter, never K or auth.
 */
import type { Native } from "../../hal/types";

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
  var inner = new Uint8Array(64 + maxData + 4);
  var outer = new Uint8Array(96);
  function mac(key: Uint8Array, data: Uint8Array, len: number, out: Uint8Array, at: number, outLen: number, extra?: number): void {
    for (var i = 0; i < 64; i++) {
      var k = i < key.length ? key[i] : 0;
      inner[i] = k ^ 0x36;
      outer[i] = k ^ 0x5c;
    }
    inner.set(data.subarray(0, len), 64);
    var n = 64 + len;
    if (extra !== undefined) {
      for (var e = 0; e < 4; e++) inner[n + e] = (extra >>> (8 * e)) & 0xff;
      n += 4;
    }
    outer.set(hash(inner.subarray(0, n)), 64);
    var d = hash(outer);
    for (var j = 0; j < outLen; j++) out[at + j] = d[j];
  }
  return {
    mac: mac,
    derive: function (root, label) {
      var b = new Uint8Array(label.length);
      for (var i = 0; i < label.length; i++) b[i] = label.charCodeAt(i);
      var k = new Uint8Array(KEY_SIZE);
      mac(root, b, b.length, k, 0, KEY_SIZE);
      return k;
    },
  };
}

/** Bytes of a hex string of `n` bytes, or null. */
export function hexKey(s: any, n: number): Uint8Array | null {
  if (typeof s !== "string" || s.length !== n * 2 || !/^[0-9a-fA-F]+$/.test(s)) return null;
  var k = new Uint8Array(n);
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
export var TAG_SIZE = 16;
export var TAG_INPUT = 46;

/**
 * What an authorisation tag is computed over, into out[0..46): "MLA" | kind | digest (32) |
 * version u32 | meter id u32 | imageId u16 (the campaign), little endian. The tag is
 * HMAC(auth key, this)[0..16]; the head-end computes it, the meter checks it.
 */
export function tagInput(out: Uint8Array, kind: number, digest: Uint8Array, version: number, meterId: number, imageId: number): void {
  out[0] = 0x4d; out[1] = 0x4c; out[2] = 0x41; out[3] = kind;
  out.set(digest.subarray(0, 32), 4);
  for (var i = 0; i < 4; i++) { out[36 + i] = (version >>> (8 * i)) & 0xff; out[40 + i] = (meterId >>> (8 * i)) & 0xff; }
  out[44] = imageId & 0xff; out[45] = (imageId >> 8) & 0xff;
}
