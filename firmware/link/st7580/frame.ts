/*
 * ST7580 host-interface local frames: STX | LEN | CMD | DATA[LEN] | CHK_L | CHK_H, where
 * CHK is the 16-bit sum of LEN, CMD and every DATA byte. Plus the one-byte link messages
 * ACK (0x06) and NAK (0x15) and the status message 0x3F <status>. Facts: plc-facts.md.
 *
 * The framer only finds boundaries and resynchronises: it is fed the UART's strings in
 * chunks of any size, keeps one fixed buffer, never recurses, never throws, and reports
 * through numeric events. Checking the command's meaning is the driver's job.
 */

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
  /** Inter-character timeout: a frame idle this long is dropped. */
  INTERCHAR_MS = 10,
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

/** Events the framer reports. */
export const enum StEv {
  FRAME = 1,
  ACK = 2,
  NAK = 3,
  STATUS = 4,
  BAD_CHECKSUM = 5,
  /** A byte outside any frame was dropped. */
  GARBAGE = 6,
  /** A frame stalled past the inter-character timeout and was dropped. */
  TIMEOUT = 7,
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

const enum Phase { IDLE = 0, LEN = 1, CMD = 2, DATA = 3, CHK_L = 4, CHK_H = 5, STATUS = 6 }

/**
 * Incremental framer. `listener(ev, cmd, len, arg)`: for FRAME the data are
 * `framer.data.subarray(0, len)` (valid until the next feed) and `arg` is 1 for a repeated
 * frame (STX 0x03); for STATUS `arg` is the status byte.
 */
export interface St7580Framer {
  data: Uint8Array;
  feed(chunk: string, nowMs: number): void;
  counts: { frames: number; badChecksum: number; garbage: number; timeouts: number };
}

export function st7580Framer(listener: (ev: number, cmd: number, len: number, arg: number) => void): St7580Framer {
  var data = new Uint8Array(St.MAX_DATA);
  var phase = Phase.IDLE;
  var len = 0, cmd = 0, got = 0, sum = 0, chkLo = 0, repeat = 0, last = 0;
  var counts = { frames: 0, badChecksum: 0, garbage: 0, timeouts: 0 };
  function feed(chunk: string, nowMs: number): void {
    if (phase !== Phase.IDLE && nowMs - last > St.INTERCHAR_MS) {
      phase = Phase.IDLE;
      counts.timeouts++;
      listener(StEv.TIMEOUT, cmd, got, 0);
    }
    last = nowMs;
    for (var i = 0; i < chunk.length; i++) {
      var b = chunk.charCodeAt(i) & 0xff;
      switch (phase) {
        case Phase.IDLE:
          if (b === St.STX || b === St.STX_REPEAT) { repeat = b === St.STX_REPEAT ? 1 : 0; phase = Phase.LEN; }
          else if (b === St.ACK) listener(StEv.ACK, 0, 0, 0);
          else if (b === St.NAK) listener(StEv.NAK, 0, 0, 0);
          else if (b === St.STATUS) phase = Phase.STATUS;
          else { counts.garbage++; listener(StEv.GARBAGE, 0, 0, b); }
          break;
        case Phase.STATUS:
          phase = Phase.IDLE;
          listener(StEv.STATUS, 0, 0, b);
          break;
        case Phase.LEN:
          len = b; sum = b; got = 0; phase = Phase.CMD;
          break;
        case Phase.CMD:
          cmd = b; sum += b; phase = len ? Phase.DATA : Phase.CHK_L;
          break;
        case Phase.DATA:
          data[got++] = b; sum += b;
          if (got === len) phase = Phase.CHK_L;
          break;
        case Phase.CHK_L:
          chkLo = b; phase = Phase.CHK_H;
          break;
        default:
          phase = Phase.IDLE;
          if ((chkLo | (b << 8)) === (sum & 0xffff)) { counts.frames++; listener(StEv.FRAME, cmd, len, repeat); }
          else { counts.badChecksum++; listener(StEv.BAD_CHECKSUM, cmd, len, 0); }
      }
    }
  }
  return { data: data, feed: feed, counts: counts };
}
