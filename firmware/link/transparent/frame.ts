/*
 * Our own framing for transparent modems (ST7540, KQ-130F class), which add no framing
 * or check of their own:  PREAMBLE 0xAA 0xAA | SYNC 0x2D 0xD4 | LEN | PAYLOAD[LEN] | CRC32
 * (little endian, over LEN and PAYLOAD, computed by the native helper: per-byte JS loops
 * are slow on a board). The decoder hunts for the sync word (the preamble may be lost
 * while the receiver settles), refuses lengths over the maximum, and starts clean after
 * an inter-character gap. One fixed buffer, no recursion, no throw.
 */

import { getU32, putU32 } from "../../common/bytes";

export const enum Tp {
  PREAMBLE = 0xaa,
  SYNC_HI = 0x2d,
  SYNC_LO = 0xd4,
  /** Preamble 2 + sync 2 + length 1 + CRC 4. */
  OVERHEAD = 9,
  MAX_PAYLOAD = 242,
  GAP_MS = 50,
}

export const enum TpEv {
  FRAME = 1,
  BAD_CRC = 2,
  TOO_LONG = 3,
  TIMEOUT = 4,
}

/** Writes a frame into `out` at 0; returns its length, or -1 if the payload is empty, too long or out is short. */
export function encodeTransparent(payload: Uint8Array, out: Uint8Array, crc32: (d: Uint8Array) => number): number {
  var n = payload.length;
  if (n < 1 || n > Tp.MAX_PAYLOAD || out.length < n + Tp.OVERHEAD) return -1;
  out[0] = Tp.PREAMBLE;
  out[1] = Tp.PREAMBLE;
  out[2] = Tp.SYNC_HI;
  out[3] = Tp.SYNC_LO;
  out[4] = n;
  out.set(payload, 5);
  putU32(out, 5 + n, crc32(out.subarray(4, 5 + n)));
  return n + Tp.OVERHEAD;
}

export interface TransparentDeframer {
  /** [LEN, PAYLOAD..., CRC...]: on FRAME the payload is buf.subarray(1, 1 + len). */
  buf: Uint8Array;
  feed(chunk: string, nowMs: number): void;
  counts: { frames: number; badCrc: number; tooLong: number; timeouts: number };
}

const enum Ph { HUNT = 0, SYNC = 1, LEN = 2, BODY = 3 }

export function transparentDeframer(
  maxPayload: number,
  crc32: (d: Uint8Array) => number,
  listener: (ev: number, len: number) => void,
): TransparentDeframer {
  if (maxPayload > Tp.MAX_PAYLOAD) maxPayload = Tp.MAX_PAYLOAD;
  var buf = new Uint8Array(1 + Tp.MAX_PAYLOAD + 4);
  var ph = Ph.HUNT, need = 0, got = 0, last = 0;
  var counts = { frames: 0, badCrc: 0, tooLong: 0, timeouts: 0 };
  function feed(chunk: string, nowMs: number): void {
    if (ph >= Ph.LEN && nowMs - last > Tp.GAP_MS) {
      ph = Ph.HUNT;
      counts.timeouts++;
      listener(TpEv.TIMEOUT, 0);
    }
    last = nowMs;
    for (var i = 0; i < chunk.length; i++) {
      var b = chunk.charCodeAt(i) & 0xff;
      if (ph === Ph.HUNT) {
        if (b === Tp.SYNC_HI) ph = Ph.SYNC;
      } else if (ph === Ph.SYNC) {
        ph = b === Tp.SYNC_LO ? Ph.LEN : b === Tp.SYNC_HI ? Ph.SYNC : Ph.HUNT;
      } else if (ph === Ph.LEN) {
        if (b < 1 || b > maxPayload) {
          ph = Ph.HUNT;
          counts.tooLong++;
          listener(TpEv.TOO_LONG, b);
        } else {
          buf[0] = b;
          got = 1;
          need = 1 + b + 4;
          ph = Ph.BODY;
        }
      } else {
        buf[got++] = b;
        if (got === need) {
          ph = Ph.HUNT;
          var n = buf[0];
          if ((crc32(buf.subarray(0, 1 + n)) >>> 0) === getU32(buf, 1 + n)) {
            counts.frames++;
            listener(TpEv.FRAME, n);
          } else {
            counts.badCrc++;
            listener(TpEv.BAD_CRC, n);
          }
        }
      }
    }
  }
  return { buf: buf, feed: feed, counts: counts };
}
