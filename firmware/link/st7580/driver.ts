/*
 * ST7580 host-interface driver (data-link mode). Facts: docs/link.md, "The ST7580 host interface".
 *
 * Every request to the modem (reset, MIB write, DL data) goes through the handshake:
 * pull T_REQ low, wait for the status message (200 ms), send the frame if the modem is
 * not busy and release T_REQ, wait for ACK/NAK (300 ms after the frame's last byte has
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
 * Recovery (docs/link.md): once ready, the driver probes the modem every PROBE_MS when no
 * request is outstanding: a MIB read of its mode. No answer (it stopped answering, or
 * answers only rubbish), an error frame, or a mode other than data-link (it was reset
 * behind our back, or a new modem sits at the other end of a reopened line) makes the
 * driver reset and re-initialise the modem by itself. A recovery that fails is tried
 * again after HEAL_MS, doubling up to HEAL_MAX_MS; each try counts in `resets`, and the
 * owner hears ready(0) once it worked (nothing while it fails: sends are refused).
 *
 * One request at a time, fixed buffers, numeric errors, no throw.
 */
import { Err } from "../../common/errors";
import { Clock, Native, OutputPin, Uart } from "../../../hal/types";
import { LinkStats, Modem, ModemEvents, newStats } from "../modem";
import { encodeFrame, St, StCmd, StEv, st7580Framer, type St7580Framer } from "./frame";
import { U8, sub } from "../../common/bytes";

export const enum St7580 {
  STATUS_MS = 200,
  /**
   * After the frame's last byte. The modem's own figure is 40 ms, but the ACK reaches the
   * program later when it is busy, or queued behind an indication on a pseudo-terminal
   * read in 32-byte passes with gaps up to about 50 ms (14 of 20 requests timed out at
   * 40 ms, 1 at 200, none at 300 in the test that plays this), and a retry sent too early
   * puts the frame on the line twice.
   */
  ACK_MS = 300,
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
  /** While idle, the modem's mode is read this often (the probe). */
  PROBE_MS = 30000,
  /** Pause after a recovery that failed; it doubles with each failure up to HEAL_MAX_MS. */
  HEAL_MS = 2000,
  HEAL_MAX_MS = 64000,
}

export interface St7580Options {
  baud: number;
  /** First byte of every data request: modulation and frequency bits (docs/link.md). */
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
  var tx = new U8(St.MAX_DATA + St.OVERHEAD);
  // a request's data is built where encodeFrame puts it (after STX, LEN, CMD): no second buffer
  var req = sub(tx, 3, 3 + St.MAX_DATA);
  var txLen = 0, cnf = 0, errCmd = 0, attempt = 0, ph = Ph.IDLE, timer = 0, at = 0;
  var mode = Mode.OFF;
  var done: ((err: number) => void) | null = null;
  var lastDelivered = false;
  // the pause before the next reset when a recovery fails (0: not recovering)
  var wait = 0;
  var byteMs = 10000 / opt.baud;

  var framer: St7580Framer;

  function release(): void {
    if (treq) treq.set(true);
  }

  /** Runs fn in ms, in place of what was armed; without fn, only disarms (one function: each costs RAM). */
  function arm(ms: number, fn?: () => void): void {
    if (timer) clock.clear(timer);
    timer = fn ? clock.setTimeout(function () { timer = 0; fn(); }, ms) : 0;
  }

  /** Starts a request: `data` is the first `n` bytes of `req`. */
  function request(cmd: number, n: number, confirm: number, error: number, cb: (err: number) => void): void {
    txLen = encodeFrame(cmd, sub(req, 0, n), tx);
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
        release();
        timedOut(Err.LINK_NO_STATUS);
      });
    } else transmit();
  }

  function transmit(): void {
    uart.write(native.bytesToString(sub(tx, 0, txLen)));
    release();
    ph = Ph.ACK;
    arm(St7580.ACK_MS + txLen * byteMs, function () { timedOut(Err.LINK_NO_ACK); });
  }

  function timedOut(err: number): void {
    stats.timeouts++;
    framer.feed("", -1);
    retryOr(err);
  }

  function retryOr(err: number): void {
    if (attempt < opt.attempts) {
      ph = Ph.BACKOFF;
      arm(St7580.BACKOFF_MS * attempt, begin);
    } else finish(err);
  }

  function finish(err: number): void {
    arm(0);
    ph = Ph.IDLE;
    var cb = done;
    done = null;
    if (cb) cb(err);
  }

  /** Start-up or recovery failed: the owner hears of a failed start; a recovery is tried again later. */
  function fail(err: number): void {
    mode = Mode.OFF;
    if (!wait) return events.ready(err);
    arm(wait, reset);
    wait *= wait < St7580.HEAL_MAX_MS ? 2 : 1;
  }

  /** Every PROBE_MS: a partial frame gone stale is given up on; an idle modem is probed. */
  function tick(): void {
    framer.feed("", clock.now());
    if (mode === Mode.READY && !done) {
      req[0] = St7580.MIB_MODEM_CONFIG;
      request(StCmd.MIB_READ_REQ, 1, StCmd.MIB_READ_CNF, StCmd.MIB_READ_ERR, probed);
    }
  }

  /**
   * The probe's answer. No status, ACK or confirm, or an error frame: the modem stopped
   * answering or talks rubbish. Another mode: it was reset behind our back, or it is a new
   * one on a reopened line. Either way reset and re-initialise it. (Busy, NAK: it is alive;
   * not ready: a reset or a send took over.)
   */
  function probed(err: number): void {
    if (err ? err > Err.LINK_NAK && err < Err.LINK_NOT_READY : framer.data[at] !== St7580.MODE_DATA_LINK) {
      wait = St7580.HEAL_MS;
      reset();
    }
  }

  function onFrame(cmd: number, len: number): void {
    var d = framer.data;
    if (cmd === StCmd.DL_DATA_IND) {
      if (d[at - 3] === St.STX_REPEAT && lastDelivered) return;
      if (len <= St7580.IND_HEADER) { stats.rxBad++; return; }
      lastDelivered = true;
      if (mode !== Mode.READY) return;
      stats.rxFrames++;
      events.received(sub(d, at + St7580.IND_HEADER, at + len), len - St7580.IND_HEADER, d[at + 1]);
      return;
    }
    lastDelivered = false;
    if (cmd === StCmd.RESET_IND) {
      // before start() the owner has not asked yet; a recovery that waits tries again by itself
      if (mode === Mode.OFF) return;
      if (mode === Mode.READY) {
        // the modem restarted by itself: whatever was in flight is lost
        stats.resets++;
        mode = Mode.CONFIGURING;
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
        at = arg;
        onFrame(cmd, len);
        break;
      case StEv.BAD_CHECKSUM:
        uart.write("\x15");
        stats.rxBad++;
        // a first copy with bytes lost swallows the start of its repeat: take the repeat
        lastDelivered = false;
        break;
      case StEv.STATUS:
        if (ph !== Ph.STATUS) break;
        if (arg & St.BUSY_MASK) {
          release();
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
      if (err) return fail(err === Err.LINK_TX_ERROR ? Err.LINK_MIB_FAILED : err);
      mode = Mode.READY;
      wait = 0;
      events.ready(0);
    });
  }

  /** Resets the modem (RESETN, else a reset request), then configures it. */
  function reset(): void {
    mode = Mode.RESETTING;
    finish(Err.LINK_NOT_READY);
    stats.resets++;
    if (resetn) {
      resetn.set(false);
      arm(St7580.RESET_HOLD_MS, function () {
        (resetn as OutputPin).set(true);
        arm(St7580.RESET_WAIT_MS, function () { fail(Err.LINK_RESET_TIMEOUT); });
      });
      return;
    }
    request(StCmd.RESET_REQ, 0, StCmd.RESET_CNF, StCmd.RESET_ERR, function (err) {
      if (err) fail(err);
      else configure();
    });
  }

  function send(frame: Uint8Array, len: number): number {
    if (len < 1 || len > St7580.MAX_PAYLOAD || len > frame.length) return Err.LINK_FRAME_SIZE;
    // a probe in flight gives way: its answers, if any, are taken as stray
    if (mode !== Mode.READY || (done && done !== probed)) return Err.LINK_NOT_READY;
    req[0] = opt.txOption;
    req.set(sub(frame, 0, len), 1);
    request(StCmd.DL_DATA_REQ, len + 1, StCmd.DL_DATA_CNF, StCmd.DL_DATA_ERR, function (err) {
      if (err) stats.txFailed++;
      else stats.txFrames++;
      events.sent(err);
    });
    return 0;
  }

  // the start, after every function it uses is declared: the interpreter does not hoist
  // function declarations (a call made above them reaches a global of the same name).
  // The framer is a top-level function (NOINLINE): inlined, its parse and feed would sit
  // two scopes deep
  framer = /*@__NOINLINE__*/ st7580Framer(onEvent);
  uart.setup(opt.baud);
  uart.onData(function (chunk) { framer.feed(chunk, clock.now()); });
  release();
  clock.setInterval(tick, St7580.PROBE_MS);

  return {
    maxPayload: St7580.MAX_PAYLOAD,
    stats: stats,
    // wait is 0 here: the owner starts the modem only at first or after ready(err)
    start: reset,
    send: send,
    busy: function () { return mode !== Mode.READY || !!done; },
  };
}
