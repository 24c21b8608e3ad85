/*
 * ST7580 host-interface local frames: STX | LEN | CMD | DATA[LEN] | CHK_L | CHK_H, where
 * CHK is the 16-bit sum of LEN, CMD and every DATA byte. Plus the one-byte link messages
 * ACK (0x06) and NAK (0x15) and the status message 0x3F <status>. Facts: docs/link.md, "The ST7580 host interface".
 *
 * The framer only finds boundaries and resynchronises: it is fed the UART's strings in
 * chunks of any size, keeps one fixed buffer, never recurses, never throws, and reports
 * through numeric events. Checking the command's meaning is the driver's job. How frames
 * are found and what recovers the link: docs/link.md.
 */
import { getU16, U8, sub } from "../../common/bytes";

export const enum St {
  STX = 0x02,
  STX_REPEAT = 0x03,
  ACK = 0x06,
  NAK = 0x15,
  STATUS = 0x3f,
  /** Busy when status & BUSY_MASK. */
  BUSY_MASK = 0x06,
  MAX_DATA = 255,
  OVERHEAD = 5,
  /**
   * A partial frame no byte was added to for this long is given up on (feed("", now)).
   * Not what finds frames: the Linux build reads a pseudo-terminal 32 bytes per idle pass
   * with gaps up to about 50 ms, and a busy program or a flash erase delays events longer.
   */
  STALE_MS = 500,
}

export const enum StCmd {
  RESET_REQ = 0x3c, RESET_CNF = 0x3d, RESET_IND = 0x3e, RESET_ERR = 0x3f,
  MIB_WRITE_REQ = 0x08, MIB_WRITE_CNF = 0x09, MIB_WRITE_ERR = 0x0b,
  MIB_READ_REQ = 0x0c, MIB_READ_CNF = 0x0d, MIB_READ_ERR = 0x0f,
  MIB_ERASE_REQ = 0x10, MIB_ERASE_CNF = 0x11, MIB_ERASE_ERR = 0x13,
  PING_REQ = 0x2c, PING_CNF = 0x2d,
  PHY_DATA_REQ = 0x24, PHY_DATA_CNF = 0x25, PHY_DATA_IND = 0x26, PHY_DATA_ERR = 0x27,
  DL_DATA_REQ = 0x50, DL_DATA_CNF = 0x51, DL_DATA_IND = 0x52, DL_DATA_ERR = 0x53,
  SS_DATA_REQ = 0x54, SS_DATA_CNF = 0x55, SS_DATA_IND = 0x56, SS_DATA_ERR = 0x57,
  SYNTAX_ERR = 0x36,
}

/** Events the framer reports. ACK and NAK are the link bytes' own values. */
export const enum StEv {
  FRAME = 1,
  STATUS = 4,
  BAD_CHECKSUM = 5,
  ACK = 0x06,
  /** The start byte of a partial frame that went stale was dropped (arg: the byte). */
  TIMEOUT = 7,
  /** A byte outside any frame was dropped. */
  GARBAGE = 8,
  NAK = 0x15,
}

/** Writes a whole frame into `out` at 0; returns its length, or -1 if it does not fit. */
export function encodeFrame(cmd: number, data: Uint8Array, out: Uint8Array): number {
  var n = data.length;
  if (n > St.MAX_DATA || out.length < n + St.OVERHEAD) return -1;
  var sum = n + cmd;
  out[0] = St.STX;
  out[1] = n;
  out[2] = cmd;
  for (var i = 0; i < n; i++) {
    out[3 + i] = data[i];
    sum += data[i];
  }
  out[3 + n] = sum & 0xff;
  out[4 + n] = (sum >>> 8) & 0xff;
  return n + St.OVERHEAD;
}

/**
 * Incremental framer. `listener(ev, cmd, len, arg)`: for FRAME the data are
 * `framer.data.subarray(arg, arg + len)` (valid until the next feed) and the start byte is
 * `framer.data[arg - 3]` (0x03 for a repeated frame); for STATUS `arg` is the status byte;
 * for GARBAGE the byte. The listener must not feed the framer.
 *
 * Frames are found by their structure, never by time between chunks: a start byte, a
 * length, and a checksum that must match once LEN + 5 bytes are in. A wrong checksum
 * drops only the start byte and the bytes after it are scanned again, so a frame that
 * began inside a broken one (a truncated frame, a start byte in noise) is still found.
 * The one time-based guard: `feed("", now)` (the driver calls it from its timers) gives
 * up on a partial frame to which no byte was added for STALE_MS, and rescans after its
 * start; a chunk with bytes in it never drops anything, however late it comes.
 */
export interface St7580Framer {
  data: Uint8Array;
  feed(chunk: string, nowMs: number): void;
}

export function st7580Framer(listener: (ev: number, cmd: number, len: number, arg: number) => void): St7580Framer {
  // bytes not yet taken are buf[p..e); one whole frame fits, and the spare last byte (never
  // written) makes buf[p + 1] a number even at the end
  var buf = new U8(St.MAX_DATA + St.OVERHEAD + 1);
  var p = 0, e = 0, last = 0;

  function parse(): void {
    while (p < e) {
      var b = buf[p], t = buf[p + 1] + St.OVERHEAD;
      if ((b | 1) === St.STX_REPEAT) {
        // STX or STX_REPEAT
        // LEN not in yet (an old byte) makes t larger than e - p: wait
        if (e - p < t) return;
        for (var sum = 0, k = p + 1; k < p + t - 2; k++) sum += buf[k];
        if (getU16(buf, k) === (sum & 0xffff)) {
          listener(StEv.FRAME, buf[p + 2], t - St.OVERHEAD, p + 3);
          p += t;
          continue;
        }
        listener(StEv.BAD_CHECKSUM, buf[p + 2], t - St.OVERHEAD, 0);
      } else if (b === St.STATUS) {
        if (e - p < 2) return;
        listener(StEv.STATUS, 0, 0, buf[++p]);
      } else if (b === St.ACK || b === St.NAK) listener(b, 0, 0, 0); // StEv.ACK, StEv.NAK
      else {
        listener(StEv.GARBAGE, 0, 0, b);
      }
      p++;
    }
  }

  function feed(chunk: string, nowMs: number): void {
    if (chunk.length) last = nowMs;
    // feed("", -1): the driver's wait for an ACK or a status timed out, and the bytes it
    // waited for may sit behind a partial frame (a stray STX with a large LEN keeps every
    // byte after it until that many come): drop what is pending, rescanning after each byte
    if (nowMs < 0) last = nowMs - St.STALE_MS - 1;
    for (var i = 0; i < chunk.length; i++) {
      if (e === St.MAX_DATA + St.OVERHEAD) {
        // full: take what is whole, then move what is left (a partial frame) to the front
        parse();
        buf.set(sub(buf, p, e));
        e -= p;
        p = 0;
      }
      buf[e++] = chunk.charCodeAt(i);
    }
    parse();
    while (p < e && nowMs - last > St.STALE_MS) {
      listener(StEv.TIMEOUT, 0, 0, buf[p++]);
      parse();
    }
  }

  return { data: buf, feed: feed };
}
