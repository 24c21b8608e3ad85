/*
 * Campaign checkpoints in the concentrator's store region, so a campaign resumes after a
 * restart without resending what the meters already hold. Two halves of whole erase
 * units, written alternately: the new snapshot's body first, its header (magic, sequence,
 * length, CRC-32 of the body) last, so a cut at any point leaves the previous snapshot as
 * the newest valid one. The region holds one snapshot of up to half its size.
 */
import type { Flash, Native } from "../../hal/types";
import { Err } from "../common/errors";
import { getU32, putU32, U8, floor } from "../common/bytes";
import { eraseUnitAt, type Region } from "../common/layout";

var MAGIC = 0x50434c4d; // "MLCP"
var HEAD = 16;

export interface Checkpoints {
  /** Bytes a snapshot may take. */
  readonly capacity: number;
  /** 0, RECORD_TOO_LONG, or BAD_ARG when the length is not whole 4-byte words. */
  save(body: Uint8Array): number;
  /** The newest valid snapshot, or null. */
  load(): Uint8Array | null;
}

export function checkpoints(flash: Flash, region: Region, native: Native): Checkpoints {
  var unit = eraseUnitAt(flash.geometry, region.addr);
  var us = unit ? unit.length : region.size;
  var half = floor(region.size / us / 2) * us;
  var head = new U8(HEAD);

  function valid(base: number): number {
    var h = flash.read(base, HEAD);
    var len = getU32(h, 8);
    if (getU32(h, 0) !== MAGIC || len > half - HEAD) return -1;
    return native.crc32(flash.read(base + HEAD, len)) === getU32(h, 12) ? getU32(h, 4) : -1;
  }

  function newest(): number {
    var a = valid(region.addr), b = valid(region.addr + half);
    if (a < 0 && b < 0) return -1;
    return a >= b ? 0 : 1;
  }

  return {
    capacity: half - HEAD,
    save: function (body) {
      if (body.length > half - HEAD) return Err.RECORD_TOO_LONG;
      if (body.length & 3) return Err.BAD_ARG;
      var cur = newest();
      var seq = cur < 0 ? 1 : valid(region.addr + cur * half) + 1;
      var base = region.addr + (cur === 0 ? half : 0);
      for (var a = base; a < base + half; a += us) flash.erase(a);
      flash.write(base + HEAD, body);
      putU32(head, 0, MAGIC);
      putU32(head, 4, seq);
      putU32(head, 8, body.length);
      putU32(head, 12, native.crc32(body));
      flash.write(base, head);
      return 0;
    },
    load: function () {
      var cur = newest();
      if (cur < 0) return null;
      var base = region.addr + cur * half;
      return flash.read(base + HEAD, getU32(flash.read(base, HEAD), 8));
    },
  };
}
