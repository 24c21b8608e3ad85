/*
 * Driver for transparent UART modems (ST7540, KQ-130F class). The modem turns UART bytes
 * into line symbols and back and adds nothing, so the driver frames (frame.ts) and checks
 * (CRC-32 by the native helper) every frame itself.
 *
 * The modem gives no transmit confirmation: a send is reported done when its bytes have
 * had their airtime at the line rate plus the turnaround. Before sending, the driver
 * listens: if bytes arrived within the last inter-frame gap someone else is talking, so it
 * waits a pause that grows with each attempt and differs per node (`seed`), up to
 * `attempts` times, then sends anyway (counted as busy). One send at a time; fixed
 * buffers; numeric errors.
 *
 * Frames are found by sync word, length and CRC, not by gaps (frame.ts). There is nothing
 * to reset or reconfigure in a transparent modem: the link heals by resynchronising on
 * the next good frame (docs/link.md).
 */
import { Err } from "../../common/errors";
import { Clock, Native, Uart } from "../../../hal/types";
import { LinkStats, Modem, ModemEvents, newStats } from "../modem";
import { encodeTransparent, Tp, TpEv, transparentDeframer } from "./frame";
import { U8, sub, math } from "../../common/bytes";

export interface TransparentOptions {
  baud: number;
  /** Line rate in bit/s (the modem's baud on the mains, e.g. 2400, or about 100 for KQ-130F). */
  lineBitRate: number;
  turnaroundMs: number;
  /** Largest payload, at most 242 (KQ-130F class modules buffer about 250 bytes). */
  maxPayload: number;
  attempts: number;
  /** Varies the listen-before-talk pause between nodes: use the node's id. */
  seed: number;
}

export function transparentModem(uart: Uart, clock: Clock, native: Native, events: ModemEvents, opt: TransparentOptions): Modem {
  var stats: LinkStats = newStats();
  var max = opt.maxPayload > Tp.MAX_PAYLOAD ? Tp.MAX_PAYLOAD : opt.maxPayload;
  var out = new U8(Tp.MAX_PAYLOAD + Tp.OVERHEAD);
  var outLen = 0, attempt = 0, pending = false, ready = false, lastRx = -1e9, started = false;
  var deframer = transparentDeframer(max, native.crc32, function (ev, len, at) {
    if (ev === TpEv.FRAME) {
      stats.rxFrames++;
      if (ready) events.received(sub(deframer.buf, at, at + len), len, 0);
    } else if (ev === TpEv.BAD_CRC) stats.rxBad++;
    else stats.rxGarbage++;
  });

  function onData(chunk: string): void {
    lastRx = clock.now();
    deframer.feed(chunk, lastRx);
  }

  function trySend(): void {
    attempt++;
    if (clock.now() - lastRx < Tp.GAP_MS && attempt < opt.attempts) {
      stats.busy++;
      stats.retries++;
      clock.setTimeout(trySend, Tp.GAP_MS * attempt + ((opt.seed * 7 + stats.txFrames) % 5) * 10);
      return;
    }
    uart.write(native.bytesToString(sub(out, 0, outLen)));
    var uartMs = (outLen * 10000) / opt.baud;
    var lineMs = (outLen * 8000) / opt.lineBitRate;
    clock.setTimeout(function () {
      // a partial frame left from before is given up on once stale (frame.ts)
      deframer.feed("", clock.now());
      pending = false;
      stats.txFrames++;
      events.sent(0);
    }, math.ceil((lineMs > uartMs ? lineMs : uartMs) + opt.turnaroundMs));
  }

  return {
    maxPayload: max,
    stats: stats,
    start: function () {
      if (!started) {
        uart.setup(opt.baud);
        uart.onData(onData);
        started = true;
      }
      stats.resets++;
      ready = true;
      clock.setTimeout(function () { events.ready(0); }, 0);
    },
    send: function (frame: Uint8Array, len: number): number {
      if (len < 1 || len > max || len > frame.length) return Err.LINK_FRAME_SIZE;
      if (!ready || pending) return Err.LINK_NOT_READY;
      outLen = encodeTransparent(sub(frame, 0, len), out, native.crc32);
      pending = true;
      attempt = 0;
      trySend();
      return 0;
    },
    busy: function () { return !ready || pending; },
  };
}
