/*
 * The meter's keys and what they guard (docs/security.md):
 * - link authentication of every command and reply (firmware/link/auth.ts), with the
 *   command counter's high-water mark in the state log;
 * - the head-end's authorisation of an image (AUTHORIZE: a tag over digest, version, meter
 *   id, campaign and the campaign's block key, under a key the concentrator never holds),
 *   kept in the state log so it survives a restart between download and activation; the
 *   block key, unwrapped from it, authenticates the campaign's broadcast blocks before one
 *   is stored (firmware/link/auth.ts);
 * - the anti-rollback floor: the highest version that ever confirmed itself. An image at
 *   or below it, or below the running version, needs a rollback authorisation.
 * - key rotation: the root key lives in the keys region, a record log of its own that only
 *   this path writes (an empty one: the configuration's key, from an older provisioning).
 *   CONFIG_SET KEY brings the next generation's key wrapped under the current authorisation
 *   key with its tag; it is kept beside the current one (NEXT) and both are heard until a
 *   command authenticates under the new one: that commits it (CUR), before the command is
 *   taken. A cut at any point leaves the old key, or both, or the new one: never neither.
 * A meter with no key (or a board without native SHA-256) has no link authentication and
 * no authorisation; the floor holds for it too.
 */
import type { Flash, Native } from "../../hal/types";
import { Err } from "../common/errors";
import { getU32, putU32, U8, sub, math } from "../common/bytes";
import { recordLog, type RecordLog } from "../common/records";
import type { Region } from "../common/layout";
import { authKeyOf, hexKey, hmacSha256, KEY_SIZE, linkKeysOf, rotationInput, sameBytes, TAG_INPUT, TAG_INSTALL, TAG_ROLLBACK, TAG_SIZE, tagInput, wrapKey, type Hmac, type TagImage } from "../common/hmac";
import { REC_AUTHORISED, REC_COUNTER, REC_FLOOR, type Session } from "../common/update-image";
import { Ev, Key, Kv, P } from "../protocol/catalogue";
import { meterAuth, type LinkKeys } from "../link/auth";
import type { LinkAuth } from "../link/endpoint";

export interface Authoriser {
  /** True when keys are provisioned and the board can use them. */
  keyed: boolean;
  /** For the endpoint, when keyed. */
  link: LinkAuth | undefined;
  /** AUTHORIZE: 0 (stored, or nothing to do without keys) or a code. `key`: the campaign's block key, wrapped. */
  authorise(s: TagImage, kind: number, tag: Uint8Array, key: Uint8Array): number;
  /** Keyed: the highest version ever authorised (0: none; it never falls, a rollback's older version aside): a broadcast authorisation must name a higher one. */
  highest?(): number;
  /**
   * What the newest authorisation grants for the control `s`: 0 nothing, TAG_INSTALL,
   * TAG_ROLLBACK. Its tag is checked again over the control's own fields (every one but the
   * time), and a rollback's over the floor the meter has now: a confirmation since retires it.
   */
  grant(s: Session): number;
  floor(): number;
  /** A new program confirmed itself: the floor rises to its version. */
  confirmed(version: number): void;
  /** 0, or AUTH_UNAVAILABLE when a key was provisioned but this board cannot use it. */
  problem: number;
}

/** What a keyed authoriser takes from the metering: its event log, and configuration key 13 of its settings (wrapped). */
export interface SettingsOwner {
  event(code: number, data: number): number;
  getSetting(key: number): Uint8Array | null;
  setSetting(key: number, value: Uint8Array): number;
}

/** The keys region's records: the key in use (CUR) and the one on its way (NEXT), each generation u32 | root key (16). */
export const enum Kr { CUR = 0, NEXT = 1, ROOT = 4, LEN = 20, SLOT = 32 }

/** The state log's authorisation record: kind | tag (TAG_SIZE) | block key (KEY_SIZE) | the highest version ever authorised u32. */
const enum Ar { KEY = 17, VERSION = 33, LEN = 37 }

/** The entry picks one by the board's profile: keys need native SHA-256, so the Original's bundle carries only the floor. */
export type AuthoriserFactory = (key: string | undefined, native: Native, journal: RecordLog, meterId: number, flash?: Flash, keys?: Region, owner?: SettingsOwner) => Authoriser;

/** No keys: the anti-rollback floor alone; a provisioned key is reported unusable. */
export function floorKeeper(key: string | undefined, _native: Native, journal: RecordLog, _meterId: number): Authoriser {
  var fl = journal.read(REC_FLOOR);
  var floor = fl ? getU32(fl, 0) : 0;
  var word = new U8(4);
  return {
    keyed: false,
    link: undefined,
    problem: key ? Err.AUTH_UNAVAILABLE : 0,
    floor: function () { return floor; },
    confirmed: function (version) {
      if (version <= floor) return;
      putU32(word, 0, version);
      if (!journal.append(REC_FLOOR, word)) floor = version;
    },
    authorise: function () { return 0; },
    grant: function () { return 0; },
  };
}

/**
 * Keys from the keys region (`flash`, `keys`), or the configuration's when the region holds
 * none, when the board has native SHA-256; and the floor. `owner`: the metering, whose
 * configuration key 13 (KEY) the rotation takes over (its getSetting and setSetting are
 * wrapped, so the meter's program carries nothing of it where no keys are: the Original) and
 * whose event log hears a committed rotation (CONFIG_CHANGED KEY).
 */
export function keyedAuthoriser(key: string | undefined, native: Native, journal: RecordLog, meterId: number, flash?: Flash, keys?: Region, owner?: SettingsOwner): Authoriser {
  var base = floorKeeper(key, native, journal, meterId);
  var h: Hmac | null = hmacSha256(native, P.MAX_FRAME);
  var kl = h && flash && keys ? recordLog(flash, keys, Kr.SLOT, true, native) : null;
  // the key in use: generation | root; the one on its way (null: none) and its link keys
  var cur = kl && kl.read(Kr.CUR), next = kl && kl.read(Kr.NEXT), nextKeys: LinkKeys | null = null;
  if (!cur && key && hexKey(key, KEY_SIZE)) {
    cur = new U8(Kr.LEN);
    cur.set(hexKey(key, KEY_SIZE)!, Kr.ROOT);
  }
  var root = cur ? sub(cur, Kr.ROOT, Kr.LEN) : null;
  if (!root) h = null;
  var authKey: Uint8Array | null = null, link: LinkAuth | undefined, lk: LinkKeys | null = null;
  // the newest authorisation kept: kind | tag (16) | block key (16) | highest version u32
  var ar = journal.read(REC_AUTHORISED);
  if (ar && ar.length !== Ar.LEN) ar = null;
  var blockKey = ar ? sub(ar, Ar.KEY, Ar.VERSION) : null, highest = ar ? getU32(ar, Ar.VERSION) : 0;
  if (h && root) {
    authKey = authKeyOf(h, root);
    var ctr = journal.read(REC_COUNTER);
    var marks = new U8(8);
    lk = linkKeysOf(h, root);
    if (next && getU32(next, 0) > getU32(cur!, 0)) nextKeys = linkKeysOf(h, sub(next, Kr.ROOT));
    link = meterAuth(h, lk, ctr ? getU32(ctr, 0) : 0, ctr && ctr.length >= 8 ? getU32(ctr, 4) : 0, function (rx, tx) {
      putU32(marks, 0, rx);
      putU32(marks, 4, tx);
      return journal.append(REC_COUNTER, marks);
    }, function () { return blockKey; }, function () { return nextKeys; }, commit);
  }
  /** A command authenticated under the key on its way: it becomes the key in use, before the command is taken. */
  function commit(): number {
    var e = kl!.append(Kr.CUR, next!);
    if (e) return e;
    cur = next!;
    lk!.down.set(nextKeys!.down);
    lk!.up.set(nextKeys!.up);
    authKey!.set(authKeyOf(h!, sub(cur, Kr.ROOT)));
    nextKeys = null;
    if (owner) owner.event(Ev.CONFIG_CHANGED, Key.KEY);
    return 0;
  }
  if (!link) return base;
  var input = new U8(TAG_INPUT), expect = new U8(TAG_SIZE);
  /** True when tag[at..] is the head-end's for image `s` of this kind with block key `bk` (a rollback's from the floor the meter has now). */
  function tagOk(s: TagImage, kind: number, tag: Uint8Array, at: number, bk: Uint8Array): boolean {
    tagInput(input, kind, s, meterId, kind === TAG_ROLLBACK ? base.floor() : 0, bk);
    h!.mac(authKey!, input, TAG_INPUT, expect, 0, TAG_SIZE);
    return sameBytes(expect, 0, tag, at, TAG_SIZE);
  }
  var a: Authoriser = {
    keyed: true,
    link: link,
    problem: 0,
    floor: base.floor,
    confirmed: base.confirmed,
    authorise: function (s, kind, tag, wrapped) {
      if ((kind !== TAG_INSTALL && kind !== TAG_ROLLBACK) || s.digest.length !== 32 || tag.length !== TAG_SIZE || !wrapped || wrapped.length !== KEY_SIZE || !s.imageId) return Err.BAD_ARG;
      // kept: kind | tag | block key | version; grant() checks the tag again against each control
      var rec = new U8(Ar.LEN), bk = sub(rec, Ar.KEY, Ar.VERSION);
      wrapKey(h!, authKey!, tag, wrapped, bk);
      if (!tagOk(s, kind, tag, 0, bk)) return Err.AUTH_BAD_TAG;
      rec[0] = kind;
      rec.set(tag, 1);
      var hi = math.max(highest, s.version);
      putU32(rec, Ar.VERSION, hi);
      var e = journal.append(REC_AUTHORISED, rec);
      if (!e) { blockKey = bk; highest = hi; }
      return e;
    },
    highest: function () { return highest; },
    grant: function (s) {
      var r = journal.read(REC_AUTHORISED);
      return r && r.length === Ar.LEN && tagOk(s, r[0], r, 1, sub(r, Ar.KEY, Ar.VERSION)) ? r[0] : 0;
    },
  };
  if (owner) {
    // configuration key 13 is the keys': read (the generations) and set (a rotation) here,
    // every other key the metering's
    var getS = owner.getSetting, setS = owner.setSetting;
    owner.getSetting = function (k) {
      if (k !== Key.KEY) return getS(k);
      var v = new U8(Kv.VALUE);
      putU32(v, 0, getU32(cur!, 0));
      putU32(v, 4, nextKeys ? getU32(next!, 0) : 0);
      return v;
    };
    owner.setSetting = function (k, v) {
      if (k !== Key.KEY) return setS(k, v);
      if (!kl) return Err.UNSUPPORTED;
      if (v.length !== Kv.LEN) return Err.CONFIG_BAD_VALUE;
      var g = getU32(v, Kv.GEN), now = getU32(cur!, 0);
      // the key in use already (a retry under it, after its acknowledgement was lost): nothing to
      // do; older than it, or than the one on its way: stale
      if (g <= now) return g === now ? 0 : Err.AUTH_KEY_STALE;
      if (nextKeys && g < getU32(next!, 0)) return Err.AUTH_KEY_STALE;
      var rec = new U8(Kr.LEN), nk = sub(rec, Kr.ROOT), tag = sub(v, Kv.TAG, Kv.LEN);
      putU32(rec, 0, g);
      wrapKey(h!, authKey!, tag, sub(v, Kv.WRAPPED, Kv.TAG), nk);
      rotationInput(input, meterId, g, nk);
      h!.mac(authKey!, input, TAG_INPUT, expect, 0, TAG_SIZE);
      if (!sameBytes(expect, 0, tag, 0, TAG_SIZE)) return Err.AUTH_BAD_TAG;
      // the same one again: kept already
      if (nextKeys && sameBytes(next!, 0, rec, 0, Kr.LEN)) return 0;
      var e = kl.append(Kr.NEXT, rec);
      if (e) return e;
      next = rec;
      nextKeys = linkKeysOf(h!, nk);
      return 0;
    };
  }
  return a;
}
