/*
 * The missing set in a status report. The meter keeps a bitmap of received blocks
 * (block 0 = most significant bit of byte 0, as DLMS does) and reports the blocks it
 * still misses from the first missing one (`base` = firstMissing, always true) onwards,
 * as a bitmap (bit set = missing) or as (start u16, count u16) ranges, whichever is
 * shorter. When neither fits P.MAX_MAP bytes it sends the form that speaks for more
 * blocks: `covers` says how many blocks from `base` the report speaks for; a block in
 * that window that the map does not name has been received. Blocks before `base` have
 * all been received.
 */
import { Err } from "../common/errors";
import { getU16, putU16, U8 } from "../common/bytes";
import { Form, P } from "./catalogue";

export function isSet(bits: Uint8Array, i: number): boolean {
  return (bits[i >> 3] & (0x80 >> (i & 7))) !== 0;
}

export function setBit(bits: Uint8Array, i: number): void {
  bits[i >> 3] |= 0x80 >> (i & 7);
}

/** Fields of a STATUS_REPORT body that describe the missing set. */
export interface MissingReport {
  received: number;
  firstMissing: number;
  form: number;
  base: number;
  covers: number;
  map: Uint8Array;
}

/**
 * Fills `r` from the received-bitmap `got` of `count` blocks. `maxMap` (at most
 * P.MAX_MAP) bounds the map. Allocates the map once per report (at most maxMap bytes).
 */
export function buildReport(got: Uint8Array, count: number, maxMap: number, r: MissingReport): void {
  if (maxMap > P.MAX_MAP) maxMap = P.MAX_MAP;
  var received = 0, first = -1, last = -1;
  var ranges = 0, rangesCover = -1, inRun = false;
  var maxRanges = maxMap >> 2;
  for (var i = 0; i < count; i++) {
    if (isSet(got, i)) {
      received++;
      inRun = false;
      continue;
    }
    if (first < 0) first = i;
    last = i;
    if (!inRun) {
      inRun = true;
      ranges++;
      // the first range that does not fit ends the window the ranges speak for
      if (ranges === maxRanges + 1) rangesCover = i - first;
    }
  }
  r.received = received;
  if (first < 0) {
    r.firstMissing = P.NONE_MISSING;
    r.form = Form.NONE;
    r.base = count;
    r.covers = 0;
    r.map = new U8(0);
    return;
  }
  r.firstMissing = first;
  r.base = first;
  var all = count - first;
  var bitmapBytes = (last - first + 8) >> 3;
  var bitmapFits = bitmapBytes <= maxMap;
  var rangesFit = rangesCover < 0;
  var useRanges: boolean;
  if (bitmapFits && rangesFit) useRanges = ranges * 4 < bitmapBytes;
  else if (bitmapFits || rangesFit) useRanges = rangesFit;
  else useRanges = rangesCover > maxMap * 8;
  if (useRanges) {
    var n = rangesFit ? ranges : maxRanges;
    var map = new U8(n * 4);
    var k = 0, start = -1;
    for (var j = first; j <= count && k < n * 4; j++) {
      var miss = j < count && !isSet(got, j);
      if (miss && start < 0) start = j;
      else if (!miss && start >= 0) {
        putU16(map, k, start);
        putU16(map, k + 2, j - start);
        k += 4;
        start = -1;
      }
    }
    r.form = Form.RANGES;
    r.covers = rangesFit ? all : rangesCover;
    r.map = map;
  } else {
    var bytes = bitmapFits ? bitmapBytes : maxMap;
    var bm = new U8(bytes);
    var span = bitmapFits ? last - first + 1 : bytes * 8;
    for (var b = 0; b < span; b++) if (!isSet(got, first + b)) setBit(bm, b);
    r.form = Form.BITMAP;
    r.covers = bitmapFits ? all : span;
    r.map = bm;
  }
}

/**
 * Calls `fn` with each block the report names as missing, in increasing order. Returns 0,
 * or PROTO_BAD_FIELD when the report contradicts itself or `count` (the campaign's block
 * count): an unknown form, a window past the image, a range outside the window, or a
 * firstMissing that is not the first block named. Checks everything before calling fn.
 */
export function forEachMissing(r: MissingReport, count: number, fn: (block: number) => void): number {
  var map = r.map, end = r.base + r.covers;
  if (r.form === Form.NONE) {
    return r.firstMissing === P.NONE_MISSING && map.length === 0 && r.received <= count ? 0 : Err.PROTO_BAD_FIELD;
  }
  if (end > count || r.covers < 1 || r.firstMissing !== r.base) return Err.PROTO_BAD_FIELD;
  var i: number;
  if (r.form === Form.RANGES) {
    if (map.length === 0 || map.length & 3) return Err.PROTO_BAD_FIELD;
    var prev = r.base;
    for (i = 0; i < map.length; i += 4) {
      var s = getU16(map, i), n = getU16(map, i + 2);
      if (n < 1 || s < prev || s + n > end || (i === 0 && s !== r.base)) return Err.PROTO_BAD_FIELD;
      prev = s + n;
    }
    for (i = 0; i < map.length; i += 4) {
      var s2 = getU16(map, i), n2 = getU16(map, i + 2);
      for (var b = 0; b < n2; b++) fn(s2 + b);
    }
    return 0;
  }
  if (r.form !== Form.BITMAP || map.length === 0 || !(map[0] & 0x80)) return Err.PROTO_BAD_FIELD;
  for (i = 0; i < map.length * 8; i++) {
    if (isSet(map, i) && r.base + i >= end) return Err.PROTO_BAD_FIELD;
  }
  for (i = 0; i < map.length * 8 && r.base + i < end; i++) if (isSet(map, i)) fn(r.base + i);
  return 0;
}
