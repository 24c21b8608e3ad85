/*
 * ST7580 host-interface driver (data-link mode). Facts: plc-facts.md.
 *
 * Every request to the modem (reset, MIB write, DL data) goes through the handshake:
 * pull T_REQ low, wait for the status message (200 ms), send the frame if the modem is
 * not busy and release T_REQ, wait for ACK/NAK (40 ms after the frame's last byte has
 * left the UART), then wait for the confirm or error frame (4 s). NAK, busy and timeouts
 * are retried up to `attempts` times with a growing pause; an error frame is final.
 * Frames from the modem are ACKed (NAKed on a bad checksum); a repeated indication
 * (STX 0x03, sent because our ACK was lost) is ACKed but not delivered twice.
 *
 * Start-up: hold RESETN low 1.5 s and wait for the reset indication (or, when RESETN is
 * not wired, send a reset request and take its confirm or an indication), then MIB-write the modem configuration to data-link mode.
 * A reset indication at any other time means the modem restarted: the driver fails the
 * outstanding request, reconfigures and reports ready again.
 *
 * One request at a time, fixed buffers, numeric errors, no throw.
 */
import { Err } from "../../common/errors";
import { Clock, Native, OutputPin, Uart } from "../../../hal/types";
import { LinkStats, Modem, ModemEvents, newStats } from "../modem";
import { encodeFrame, St, StCmd, StEv, st7580Framer } from "./frame";

export const enum St7580 {
  STATUS_MS = 200,
  ACK_MS = 40,
  CONFIRM_MS = 4000,
  RESET_HOLD_MS = 1500,
  /** Wait for the reset indication after releasing RESETN. */
  RESET_WAIT_MS = 3000,
  BACKOFF_MS = 20,
  /** Data-link payload limit (the modem adds its own CRC). */
  MAX_PAYLOAD = 242,
  /** DL data indication: 4 header bytes before the payload; byte 1 is the SNR. */
  IND_HEADER = 4,
  MIB_MODEM_CONFIG = 0x00,
  MODE_DATA_LINK = 0x11,
}

export interface St7580Options {
  baud: number;
  /** First byte of every data request: modulation and frequency bits (plc-facts.md). */
  txOption: number;
  /** Attempts per request, first included. */
  attempts: number;
}

const enum Ph { IDLE = 0, STATUS = 1, ACK = 2, CONFIRM = 3, BACKOFF = 4 }
const enum Mode { OFF = 0, RESETTING = 1, CONFIGURING = 2, READY = 3 }

export function st7580Modem(
  uart: Uart,
  treq: OutputPin | null,
  resetn: OutputPin | null,
  clock: Clock,
  native: Native,
  events: ModemEvents,
  opt: St7580Options,
): Modem {
  var stats: LinkStats = newStats();
  var tx = new Uint8Array(St.MAX_DATA + St.OVERHEAD);
  // a request's data is built where encodeFrame puts it (after STX, LEN, CMD): no second buffer
  var req = tx.subarray(3, 3 + St.MAX_DATA);
  var txLen = 0, cnf = 0, errCmd = 0, attempt = 0, ph = Ph.IDLE, timer = 0;
  var mode = Mode.OFF;
  var done: ((err: number) => void) | null = null;
  var lastDelivered = false;
  var byteMs = 10000 / opt.baud;

  var framer = st7580Framer(onEvent);
  uart.setup(opt.baud);
  uart.onData(function (chunk) { framer.feed(chunk, clock.now()); });
  if (treq) treq.set(true);

  function arm(ms: number, fn: () => void): void {
    if (timer) clock.clear(timer);
    timer = clock.setTimeout(function () { timer = 0; fn(); }, ms);
  }

  function disarm(): void {
    if (timer) clock.clear(timer);
    timer = 0;
  }

  /** Starts a request: `data` is the first `n` bytes of `req`. */
  function request(cmd: number, n: number, confirm: number, error: number, cb: (err: number) => void): void {
    txLen = encodeFrame(cmd, req.subarray(0, n), tx);
    cnf = confirm;
    errCmd = error;
    done = cb;
    attempt = 0;
    begin();
  }

  function begin(): void {
    attempt++;
    if (attempt > 1) stats.retries++;
    if (treq) {
      treq.set(false);
      ph = Ph.STATUS;
      arm(St7580.STATUS_MS, function () {
        if (treq) treq.set(true);
        stats.timeouts++;
        retryOr(Err.LINK_NO_STATUS);
      });
    } else transmit();
  }

  function transmit(): void {
    uart.write(native.bytesToString(tx.subarray(0, txLen)));
    if (treq) treq.set(true);
    ph = Ph.ACK;
    arm(St7580.ACK_MS + Math.ceil(txLen * byteMs), function () {
      stats.timeouts++;
      retryOr(Err.LINK_NO_ACK);
    });
  }

  function retryOr(err: number): void {
    if (attempt < opt.attempts) {
      ph = Ph.BACKOFF;
      arm(St7580.BACKOFF_MS * attempt, begin);
    } else finish(err);
  }

  function finish(err: number): void {
    disarm();
    ph = Ph.IDLE;
    var cb = done;
    done = null;
    if (cb) cb(err);
  }

  function onFrame(cmd: number, len: number, repeat: number): void {
    var d = framer.data;
    if (cmd === StCmd.DL_DATA_IND) {
      if (repeat && lastDelivered) return;
      if (len <= St7580.IND_HEADER) { stats.rxBad++; return; }
      lastDelivered = true;
      if (mode !== Mode.READY) return;
      stats.rxFrames++;
      events.received(d.subarray(St7580.IND_HEADER, len), len - St7580.IND_HEADER, d[1]);
      return;
    }
    lastDelivered = false;
    if (cmd === StCmd.RESET_IND) {
      if (mode === Mode.OFF) return;
      if (mode === Mode.READY) {
        // the modem restarted by itself: whatever was in flight is lost
        stats.resets++;
        finish(Err.LINK_NOT_READY);
      } else done = null;
      configure();
      return;
    }
    if (ph === Ph.IDLE || ph === Ph.BACKOFF) return;
    // a confirm may arrive although its ACK was lost on the way: accept it
    if (cmd === cnf) finish(0);
    else if (cmd === errCmd || cmd === StCmd.SYNTAX_ERR) finish(Err.LINK_TX_ERROR);
  }

  function onEvent(ev: number, cmd: number, len: number, arg: number): void {
    switch (ev) {
      case StEv.FRAME:
        uart.write("\x06");
        onFrame(cmd, len, arg);
        break;
      case StEv.BAD_CHECKSUM:
        uart.write("\x15");
        stats.rxBad++;
        lastDelivered = false;
        break;
      case StEv.STATUS:
        if (ph !== Ph.STATUS) break;
        if (arg & St.BUSY_MASK) {
          if (treq) treq.set(true);
          stats.busy++;
          retryOr(Err.LINK_BUSY);
        } else transmit();
        break;
      case StEv.ACK:
        if (ph !== Ph.ACK) break;
        ph = Ph.CONFIRM;
        arm(St7580.CONFIRM_MS, function () {
          stats.timeouts++;
          finish(Err.LINK_NO_CONFIRM);
        });
        break;
      case StEv.NAK:
        if (ph !== Ph.ACK) break;
        stats.naks++;
        retryOr(Err.LINK_NAK);
        break;
      default:
        stats.rxGarbage++;
    }
  }

  function configure(): void {
    mode = Mode.CONFIGURING;
    req[0] = St7580.MIB_MODEM_CONFIG;
    req[1] = St7580.MODE_DATA_LINK;
    request(StCmd.MIB_WRITE_REQ, 2, StCmd.MIB_WRITE_CNF, StCmd.MIB_WRITE_ERR, function (err) {
      if (err) {
        mode = Mode.OFF;
        events.ready(err === Err.LINK_TX_ERROR ? Err.LINK_MIB_FAILED : err);
        return;
      }
      mode = Mode.READY;
      events.ready(0);
    });
  }

  function waitResetIndication(): void {
    arm(St7580.RESET_WAIT_MS, function () {
      mode = Mode.OFF;
      events.ready(Err.LINK_RESET_TIMEOUT);
    });
  }

  function start(): void {
    finish(Err.LINK_NOT_READY);
    mode = Mode.RESETTING;
    stats.resets++;
    if (resetn) {
      resetn.set(false);
      arm(St7580.RESET_HOLD_MS, function () {
        (resetn as OutputPin).set(true);
        waitResetIndication();
      });
      return;
    }
    request(StCmd.RESET_REQ, 0, StCmd.RESET_CNF, StCmd.RESET_ERR, function (err) {
      if (err) {
        mode = Mode.OFF;
        events.ready(err);
      } else configure();
    });
  }

  function send(frame: Uint8Array, len: number): number {
    if (len < 1 || len > St7580.MAX_PAYLOAD || len > frame.length) return Err.LINK_FRAME_SIZE;
    if (mode !== Mode.READY || done) return Err.LINK_NOT_READY;
    req[0] = opt.txOption;
    req.set(frame.subarray(0, len), 1);
    request(StCmd.DL_DATA_REQ, len + 1, StCmd.DL_DATA_CNF, StCmd.DL_DATA_ERR, function (err) {
      if (err) stats.txFailed++;
      else stats.txFrames++;
      events.sent(err);
    });
    return 0;
  }

  return {
    maxPayload: St7580.MAX_PAYLOAD,
    stats: stats,
    start: start,
    send: send,
    busy: function () { return mode !== Mode.READY || done !== null; },
  };
}
