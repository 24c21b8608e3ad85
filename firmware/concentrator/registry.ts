/*
 * The concentrator's meters: configured ones and those discovery found, with per-meter
 * link statistics, in typed arrays sorted by id (binary search). 33 bytes a meter: 1,000
 * meters take about 33 KB of typed-array storage (measured in docs/concentrator.md).
 */
import { Err } from "../common/errors";
import { Id } from "../protocol/catalogue";
import { U8, U32 } from "../common/bytes";

/** Registry flags: how a meter came in, and what its IDENTITY said it can do. */
export const enum Rf {
  CONFIGURED = 1, DISCOVERED = 2, /** its boot routine installs packed images (IDENTITY caps) */ UNPACKS = 4,
  /** taken out by the operator (remove, or replaced by another id): never read, updated or found again; its readings stay */
  REMOVED = 8,
}

export interface Registry {
  readonly capacity: number;
  count(): number;
  /** Index of `id`, or -1. */
  find(id: number): number;
  /** Adds (or finds) a meter; its index, or -REGISTRY_FULL / -BAD_ARG. */
  add(id: number, flags: number): number;
  id(i: number): number;
  flags(i: number): number;
  /** Meter i's flags, as they are from now on (remove: Rf.REMOVED added); kept across restarts. */
  setFlags(i: number, f: number): void;
  kind(i: number): number;
  version(i: number): number;
  setInfo(i: number, kind: number, version: number): void;
  /** An exchange with meter i: answered or not, the modem's link quality, the time (s). */
  note(i: number, answered: boolean, quality: number, nowS: number): void;
  stats(i: number): { ok: number; fail: number; lastSeen: number; quality: number };
  /** Start time (meter clock, s) of the newest load-profile interval collected from meter i. */
  profileAt(i: number): number;
  setProfileAt(i: number, t: number): void;
  /** Number of the newest event collected from meter i (its event log's numbering), 0 none. */
  eventAt(i: number): number;
  setEventAt(i: number, n: number): void;
  /** Board code meter i reported (IDENTITY), or 0 while unknown. */
  board(i: number): number;
  setBoard(i: number, b: number): void;
  /** The group the concentrator put meter i in (GROUP_SET), or 0. */
  group(i: number): number;
  setGroup(i: number, g: number): void;
}

/** `changed(i)`: called when something kept across restarts changed for meter i (added, its flags, kind, version, board or group). */
export function registry(capacity: number, changed?: (i: number) => void): Registry {
  var ids = new U32(capacity), kinds = new U8(capacity), versions = new U32(capacity);
  var seen = new U32(capacity), oks = new Uint16Array(capacity), fails = new Uint16Array(capacity);
  var quality = new U8(capacity), flags = new U8(capacity);
  var profileAt = new U32(capacity), eventAt = new U32(capacity), groups = new U32(capacity), boards = new Uint16Array(capacity);
  var n = 0;

  /** First index whose id is >= id. */
  function lower(id: number): number {
    var lo = 0, hi = n;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (ids[mid] < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function find(id: number): number {
    var i = lower(id);
    return i < n && ids[i] === id ? i : -1;
  }

  return {
    capacity: capacity,
    count: function () { return n; },
    find: find,
    add: function (id, f) {
      if (!(id >= 1 && id <= Id.MAX_METER) || id % 1) return -Err.BAD_ARG;
      var i = lower(id);
      if (i < n && ids[i] === id) {
        if ((flags[i] | f) !== flags[i]) { flags[i] |= f; if (changed) changed(i); }
        return i;
      }
      if (n === capacity) return -Err.REGISTRY_FULL;
      for (var k = n; k > i; k--) {
        ids[k] = ids[k - 1]; kinds[k] = kinds[k - 1]; versions[k] = versions[k - 1]; seen[k] = seen[k - 1];
        oks[k] = oks[k - 1]; fails[k] = fails[k - 1]; quality[k] = quality[k - 1]; flags[k] = flags[k - 1];
        profileAt[k] = profileAt[k - 1]; eventAt[k] = eventAt[k - 1]; groups[k] = groups[k - 1]; boards[k] = boards[k - 1];
      }
      ids[i] = id; kinds[i] = 0; versions[i] = 0; seen[i] = 0; oks[i] = 0; fails[i] = 0; quality[i] = 0; flags[i] = f;
      profileAt[i] = 0; eventAt[i] = 0; groups[i] = 0; boards[i] = 0;
      n++;
      if (changed) changed(i);
      return i;
    },
    id: function (i) { return ids[i]; },
    flags: function (i) { return flags[i]; },
    setFlags: function (i, f) { if (flags[i] !== f) { flags[i] = f; if (changed) changed(i); } },
    kind: function (i) { return kinds[i]; },
    version: function (i) { return versions[i]; },
    setInfo: function (i, k, v) {
      if (kinds[i] === k && versions[i] === v) return;
      kinds[i] = k;
      versions[i] = v;
      if (changed) changed(i);
    },
    note: function (i, answered, q, nowS) {
      if (answered) {
        if (oks[i] < 0xffff) oks[i]++;
        seen[i] = nowS;
        quality[i] = q;
      } else if (fails[i] < 0xffff) fails[i]++;
    },
    stats: function (i) { return { ok: oks[i], fail: fails[i], lastSeen: seen[i], quality: quality[i] }; },
    profileAt: function (i) { return profileAt[i]; },
    setProfileAt: function (i, t) { profileAt[i] = t; },
    eventAt: function (i) { return eventAt[i]; },
    setEventAt: function (i, n) { eventAt[i] = n; },
    board: function (i) { return boards[i]; },
    setBoard: function (i, b) { if (boards[i] !== b) { boards[i] = b; if (changed) changed(i); } },
    group: function (i) { return groups[i]; },
    setGroup: function (i, g) { if (groups[i] !== g) { groups[i] = g; if (changed) changed(i); } },
  };
}
