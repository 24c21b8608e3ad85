/*
 * Our own framing for transparent modems (ST7540, KQ-130F class), which add no framing
 * or check of their own:  PREAMBLE 0xAA 0xAA | SYNC 0x2D 0xD4 | LEN | PAYLOAD[LEN] | CRC32
 * (little endian, over LEN and PAYLOAD, computed by the native helper: per-byte JS loops
 * are slow on a board). The decoder hunts for the sync word (the preamble may be lost
 * while the receiver settles), refuses lengths over the maximum, and rescans after a
 * failed check (docs/link.md). One fixed buffer, no recursion, no throw.
 */

import { getU32, putU32, U8, sub } from "../../common/bytes";

export const enum Tp {
  PREAMBLE = 0xaa,
  SYNC_HI = 0x2d,
  SYNC_LO = 0xd4,
  /** Preamble 2 + sync 2 + length 1 + CRC 4. */
  OVERHEAD = 9,
  MAX_PAYLOAD = 242,
  /** Listen before talk: bytes within this long mean someone else is talking (driver.ts). */
  GAP_MS = 50,
  /** A partial frame no byte was added to for this long is given up on (feed("", now)). */
  STALE_MS = 500,
}

export const enum TpEv {
  FRAME = 1,
  BAD_CRC = 2,
  TOO_LONG = 3,
  /** The start of a partial frame that went stale was dropped. */
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
  putU32(out, 5 + n, crc32(sub(out, 4, 5 + n)));
  return n + Tp.OVERHEAD;
}

export interface TransparentDeframer {
  /** The bytes received: on FRAME the payload is buf.subarray(at, at + len). */
  buf: Uint8Array;
  feed(chunk: string, nowMs: number): void;
  counts: { frames: number; badCrc: number; tooLong: number; timeouts: number };
}

/**
 * Frames are found by their structure: the sync word, a length from 1 to the maximum, and
 * the CRC once the whole frame is in. A failed CRC or a refused length drops only the
 * first sync byte and the bytes after it are scanned again, so a frame that began inside a
 * broken one is still found. No time between chunks ever drops a frame (a 100 bit/s
 * module, a busy program or a pseudo-terminal stretch them); `feed("", now)` gives up on a
 * partial frame no byte was added to for STALE_MS and rescans after its start.
 */
export function transparentDeframer(
  maxPayload: number,
  crc32: (d: Uint8Array) => number,
  listener: (ev: number, len: number, at: number) => void,
): TransparentDeframer {
  if (maxPayload > Tp.MAX_PAYLOAD) maxPayload = Tp.MAX_PAYLOAD;
  // bytes not yet taken are buf[p..e): sync word, LEN, payload, CRC of the longest frame
  var buf = new U8(Tp.MAX_PAYLOAD + 7);
  var p = 0, e = 0, last = 0;
  var counts = { frames: 0, badCrc: 0, tooLong: 0, timeouts: 0 };

  function parse(): void {
    while (p < e) {
      if (buf[p] === Tp.SYNC_HI) {
        if (e - p < 3) return;
        var n = buf[p + 2];
        if (buf[p + 1] === Tp.SYNC_LO) {
          if (n < 1 || n > maxPayload) {
            counts.tooLong++;
            listener(TpEv.TOO_LONG, n, 0);
          } else {
            if (e - p < n + 7) return;
            if ((crc32(sub(buf, p + 2, p + 3 + n)) >>> 0) === getU32(buf, p + 3 + n)) {
              counts.frames++;
              p += n + 7;
              listener(TpEv.FRAME, n, p - n - 4);
              continue;
            }
            counts.badCrc++;
            listener(TpEv.BAD_CRC, n, 0);
          }
        }
      }
      p++;
    }
  }

  function feed(chunk: string, nowMs: number): void {
    if (chunk.length) last = nowMs;
    for (var i = 0; i < chunk.length; i++) {
      if (e === buf.length) {
        parse();
        buf.set(sub(buf, p, e));
        e -= p;
        p = 0;
      }
      buf[e++] = chunk.charCodeAt(i);
    }
    parse();
    while (p < e && nowMs - last > Tp.STALE_MS) {
      counts.timeouts++;
      listener(TpEv.TIMEOUT, 0, 0);
      p++;
      parse();
    }
    if (p === e) p = e = 0;
  }

  return { buf: buf, feed: feed, counts: counts };
}
