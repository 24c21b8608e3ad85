/*
 * The concentrator's key file (Storage "ml.keys", made by `npm run keys -- concentrator`):
 * records of 36 bytes, meter id u32 | down key 16 | up key 16, sorted by id. Looked up by
 * binary search on each message, read in place: 1,000 meters cost no RAM.
 */
import type { LinkKeys } from "../link/auth";
import type { TextFiles } from "./meter-file";
import { Err } from "../common/errors";
import { Kv } from "../protocol/catalogue";
import { U8, floor, math } from "../common/bytes";

export var KEY_FILE = "ml.keys";
export var COUNTER_FILE = "ml.ctr";
export var KEY_RECORD = 36;
/** A record of the head-end's tags file (npm run keys -- authorise; console.ts tagsInto): id u32 | kind u8 | 3 zero bytes | tag 16 | wrapped block key 16. */
export var TAGS_RECORD = 40;

/**
 * The record of meter `id` in a file of `size` bytes of `rec`-byte records sorted by their
 * leading u32 id, by binary search; `read(offset, length)` returns bytes of the file as a
 * string (Storage.read). Null when absent. A record the file no longer holds whole (the
 * file cut shorter, or gone, since `size` was read) is not there: before, its missing
 * bytes read as zeros, keys the file never held.
 */
export function findById(read: (offset: number, length: number) => string | undefined, size: number, rec: number, id: number): string | null {
  var lo = 0, hi = floor(size / rec) - 1;
  while (lo <= hi) {
    var mid = (lo + hi) >> 1;
    var r = read(mid * rec, rec) || "";
    if (r.length < rec) { hi = mid - 1; continue; }
    var rid = u32At(r, 0);
    if (rid === id) return r;
    if (rid < id) lo = mid + 1; else hi = mid - 1;
  }
  return null;
}

/** The little-endian u32 at `o` of a string of bytes (a Storage file's text). */
export function u32At(s: string, o: number): number {
  return (s.charCodeAt(o) | (s.charCodeAt(o + 1) << 8) | (s.charCodeAt(o + 2) << 16) | (s.charCodeAt(o + 3) << 24)) >>> 0;
}

/** A u32 as 4 bytes of text, little endian (a Storage file's). */
export function u32Text(v: number): string {
  return String.fromCharCode(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
}

/** Bytes of a string, from `o`, `n` of them. */
export function bytesAt(s: string, o: number, n: number): Uint8Array {
  var b = new U8(n);
  for (var i = 0; i < n; i++) b[i] = s.charCodeAt(o + i) & 0xff;
  return b;
}

/** The link keys of meter `id` from the key file, or null; the last answer is kept (a reply follows its request). */
export function keyFile(read: (offset: number, length: number) => string | undefined, size: number): (id: number) => LinkKeys | null {
  var lastId = -1, last: LinkKeys | null = null;
  return function (id) {
    if (id === lastId) return last;
    var r = findById(read, size, KEY_RECORD, id);
    lastId = id;
    last = r ? { down: bytesAt(r, 4, 16), up: bytesAt(r, 20, 16) } : null;
    return last;
  };
}

/**
 * Storage as the key store uses it: the TextFiles for the rotation journal, and whole files
 * read in place and written in parts (Espruino's Storage.read and Storage.write: `size` makes
 * a file of that many bytes, erased, that later writes at `offset` fill; without it a write
 * replaces the file, deleting the old one first).
 */
export interface KeyFiles extends TextFiles {
  read(name: string, offset?: number, length?: number): string | undefined;
  /** True when written. */
  write(name: string, data: string, offset?: number, size?: number): boolean;
  remove(name: string): void;
}

/** The active key rotation: the head-end's file, adopted (rotate(file) copies it here). */
export var ROT_FILE = "ml.rot";
/**
 * Meters whose rotation finished: records "\nid generation;" appended, each starting a line
 * of its own (a record torn by a cut has no ";", and the next one starts after it, never in it).
 */
export var ROT_JOURNAL = "ml.kj";
/** A compaction's new key file: records, then count u32 | "MLKN" written last. */
export var KEY_NEW = "ml.kn";
/**
 * A rotation file's record (npm run keys -- rotate): id u32 | CONFIG_SET KEY value (Kv, 36) |
 * new down key 16 | new up key 16, sorted by id (offsets: Rr). Adopted as ROT_FILE, the
 * records are followed by a trailer, count u32 | "MLKR", written last.
 */
export var ROT_RECORD = 72;
export const enum Rr { VALUE = 4, DOWN = 40, UP = 56, MAGIC = 0x4e4b4c4d, ROT_MAGIC = 0x524b4c4d, PART = 16 }

export interface KeyStore {
  /** The link keys of meter `id` as the link uses them now (null: not keyed here). */
  keys(id: number): LinkKeys | null;
  /** Records of the active rotation (0: none). */
  count(): number;
  /** Record i's meter id, and its CONFIG_SET KEY value. */
  id(i: number): number;
  value(i: number): Uint8Array;
  /** True once record i's meter answered under its new key. */
  isDone(i: number): boolean;
  /** Record i's meter answered under its new key: journaled (0, or STORE_FULL when Storage refused). */
  done(i: number): number;
  /** Record i's new keys are tried for its meter (-1: none). */
  trying(i: number): void;
  /**
   * Adopts the rotation file `name` (checked first: whole records sorted by id, each of a
   * meter keyed here, generations above 0), folding a previous rotation's finished meters
   * into the key file first. A previous rotation with unfinished meters refuses it
   * (ROTATION_UNFINISHED), unless `drop`: they keep their old keys here. 0, or BAD_ARG
   * (nothing changed) / ROTATION_UNFINISHED / STORE_FULL.
   */
  adopt(name: string, drop?: boolean): number;
  /**
   * When every meter of the rotation finished, or `drop`: folds the finished meters' new keys
   * into the key file, and the rotation goes (the unfinished keep their old keys). 0 (also
   * when there is nothing to do yet), or STORE_FULL.
   */
  compact(drop?: boolean): number;
}

/**
 * The concentrator's link keys (KEY_FILE), and key rotation's changes to them kept so that a
 * power cut at any moment loses neither a meter's old keys nor its new ones: a meter's new
 * keys are used from the moment it answers under them (journaled, they are read from
 * ROT_FILE), and a compaction writes a new key file whole (KEY_NEW, complete when its
 * trailer is there) before it replaces KEY_FILE from it; a start finds a complete KEY_NEW
 * and finishes the replacement, or a torn one and drops it.
 */
export function keyStore(f: KeyFiles): KeyStore {
  var n = 0, doneFlags: Uint8Array | null = null, tryingAt = -1, base: (id: number) => LinkKeys | null;
  // the last answer of keys() (a reply follows its request), until a change
  var last = -1, lastKeys: LinkKeys | null = null;
  function size(name: string): number { return (f.read(name) || "").length; }
  function rec(i: number, o: number, len: number): Uint8Array {
    return bytesAt(f.read(ROT_FILE, i * ROT_RECORD + o, len) || "", 0, len);
  }
  /** Record i's generation (its value's first u32). */
  function genOf(i: number): number { return u32At(f.read(ROT_FILE, i * ROT_RECORD + Rr.VALUE, 4) || "", 0); }
  /** Record index of meter `id` in the rotation file, or -1. */
  function indexOf(id: number): number {
    var lo = 0, hi = n - 1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1, rid = u32At(f.read(ROT_FILE, mid * ROT_RECORD, 4) || "\0\0\0\0", 0);
      if (rid === id) return mid;
      if (rid < id) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
  }
  /** Copies `from` (its first `len` bytes, whole records of either file) to `to` in parts, in a file of `total` bytes. */
  function copy(from: string, len: number, to: string, total: number): boolean {
    for (var o = 0; o < len; o += Rr.PART * KEY_RECORD) {
      if (!f.write(to, f.read(from, o, math.min(Rr.PART * KEY_RECORD, len - o)) || "", o, total)) return false;
    }
    return true;
  }
  /**
   * KEY_NEW complete: replaces KEY_FILE from it, then the rotation and its journal go (in
   * this order: a journal left without its rotation file names nothing).
   */
  function finish(): number {
    var len = size(KEY_NEW) - 8;
    if (!copy(KEY_NEW, len, KEY_FILE, len)) return Err.STORE_FULL;
    f.remove(KEY_NEW);
    f.remove(ROT_FILE);
    f.erase(ROT_JOURNAL);
    return 0;
  }
  function complete(): boolean {
    var t = f.read(KEY_NEW) || "", len = t.length - 8;
    return len >= 0 && len % KEY_RECORD === 0 && u32At(t, len) === len / KEY_RECORD && u32At(t, len + 4) === Rr.MAGIC;
  }
  function open(): void {
    last = -1;
    base = keyFile(function (o, len) { return f.read(KEY_FILE, o, len); }, size(KEY_FILE));
    // the adopted rotation: whole when its trailer is (an adoption a cut interrupted goes: rotate(file) again)
    var len = size(ROT_FILE) - 8, t = len >= 0 ? f.read(ROT_FILE, len, 8) || "" : "";
    n = len >= 0 && len % ROT_RECORD === 0 && u32At(t, 4) === Rr.ROT_MAGIC && u32At(t, 0) === len / ROT_RECORD ? len / ROT_RECORD : 0;
    if (!n && f.read(ROT_FILE) !== undefined) f.remove(ROT_FILE);
    doneFlags = n ? new U8(n) : null;
    tryingAt = -1;
    f.forEach(ROT_JOURNAL, function (l) {
      var m = /^(\d+) (\d+);$/.exec(l), i = m ? indexOf(+m[1]) : -1;
      if (i >= 0 && genOf(i) === +m![2]) doneFlags![i] = 1;
    });
  }
  function allDone(): boolean {
    for (var k = 0; k < n; k++) if (!doneFlags![k]) return false;
    return true;
  }
  open();
  // a compaction a cut interrupted: finished if its new file is whole, forgotten if not
  if (f.read(KEY_NEW) !== undefined) {
    if (complete()) { finish(); open(); } else f.remove(KEY_NEW);
  }
  return {
    keys: function (id) {
      if (id === last) return lastKeys;
      var i = n ? indexOf(id) : -1;
      last = id;
      lastKeys = i >= 0 && (doneFlags![i] || tryingAt === i) ? { down: rec(i, Rr.DOWN, 16), up: rec(i, Rr.UP, 16) } : base(id);
      return lastKeys;
    },
    count: function () { return n; },
    id: function (i) { return u32At(f.read(ROT_FILE, i * ROT_RECORD, 4) || "", 0); },
    value: function (i) { return rec(i, Rr.VALUE, Kv.LEN); },
    isDone: function (i) { return !!doneFlags && !!doneFlags[i]; },
    done: function (i) {
      try {
        f.append(ROT_JOURNAL, "\n" + this.id(i) + " " + genOf(i) + ";");
      } catch (e) {
        return Err.STORE_FULL;
      }
      doneFlags![i] = 1;
      last = -1;
      return 0;
    },
    trying: function (i) { tryingAt = i; last = -1; },
    adopt: function (name, drop) {
      // (the store's own files are never a rotation to adopt: ROT_FILE would be rewritten from itself)
      var t = name === ROT_FILE || name === KEY_FILE || name === KEY_NEW || name === ROT_JOURNAL ? undefined : f.read(name), len = t ? t.length : 0, prev = 0;
      if (!len || len % ROT_RECORD) return Err.BAD_ARG;
      for (var o = 0; o < len; o += ROT_RECORD) {
        var id = u32At(t!, o);
        if (id <= prev || !base(id) || !u32At(t!, o + Rr.VALUE)) return Err.BAD_ARG;
        prev = id;
      }
      if (n && !allDone() && !drop) return Err.ROTATION_UNFINISHED;
      // (dropped: its unfinished meters keep their old keys here)
      var e = this.compact(true);
      if (e) return e;
      // (a journal a cut left behind its rotation file names nothing of the new one)
      f.erase(ROT_JOURNAL);
      // the records in parts, then the trailer, last: it says the copy is whole
      if (!copy(name, len, ROT_FILE, len + 8) || !f.write(ROT_FILE, u32Text(len / ROT_RECORD) + u32Text(Rr.ROT_MAGIC), len, len + 8)) { f.remove(ROT_FILE); open(); return Err.STORE_FULL; }
      open();
      return 0;
    },
    compact: function (drop) {
      if (!n || !(drop || allDone())) return 0;
      var len = size(KEY_FILE);
      // the key file with every finished meter's new keys, in parts, then its trailer (last: it says the file is whole)
      for (var o = 0; o < len; o += KEY_RECORD) {
        var r = f.read(KEY_FILE, o, KEY_RECORD) || "", i = indexOf(u32At(r, 0));
        if (i >= 0 && doneFlags![i]) r = r.substr(0, 4) + (f.read(ROT_FILE, i * ROT_RECORD + Rr.DOWN, 32) || "");
        if (!f.write(KEY_NEW, r, o, len + 8)) { f.remove(KEY_NEW); return Err.STORE_FULL; }
      }
      if (!f.write(KEY_NEW, u32Text(len / KEY_RECORD) + u32Text(Rr.MAGIC), len, len + 8)) { f.remove(KEY_NEW); return Err.STORE_FULL; }
      var e = finish();
      open();
      return e;
    },
  };
}
