/*
 * The one interface every modem driver offers the protocol layer. A driver owns its UART
 * and pins; the layer above sees whole frames (the application message bytes) only.
 *
 * Contract:
 * - `start()` resets the modem and configures it; `events.ready(err)` follows once (0 =
 *   ready). The owner calls it at first and again after a ready(err). After a spontaneous
 *   modem reset the driver reconfigures by itself and calls ready again; a driver that
 *   recovers a modem by itself (docs/link.md) refuses sends with LINK_NOT_READY while it
 *   does, says nothing of failed tries, and calls ready(0) once it worked.
 * - `send(frame, len)` takes one frame at a time: it returns 0 when accepted, and
 *   `events.sent(err)` follows exactly once (0 = handed to the line). It returns
 *   LINK_NOT_READY while not ready or while a send is outstanding, LINK_FRAME_SIZE for an
 *   empty frame or one over `maxPayload`; nothing is queued then.
 * - `events.received(data, len, quality)`: a frame from the line that passed the link's
 *   check; `data` is valid only during the call. `quality` is 0..255, higher is better.
 * - `stats` counts; nothing in it resets unless the owner does it.
 */
export interface ModemEvents {
  ready(err: number): void;
  sent(err: number): void;
  received(data: Uint8Array, len: number, quality: number): void;
}

export interface LinkStats {
  txFrames: number;
  txFailed: number;
  rxFrames: number;
  /** Frames from the modem or line that failed a checksum or CRC. */
  rxBad: number;
  /** Bytes outside any frame, or frames cut short by a timeout. */
  rxGarbage: number;
  naks: number;
  busy: number;
  timeouts: number;
  retries: number;
  resets: number;
}

export interface Modem {
  readonly maxPayload: number;
  readonly stats: LinkStats;
  start(): void;
  send(frame: Uint8Array, len: number): number;
  /** True while a send is outstanding or the modem is not ready. */
  busy(): boolean;
}

/** A modem that failed to start (no answer, no reset confirm) is started again after this long. */
export var MODEM_RETRY_MS = 10000;

export function newStats(): LinkStats {
  return { txFrames: 0, txFailed: 0, rxFrames: 0, rxBad: 0, rxGarbage: 0, naks: 0, busy: 0, timeouts: 0, retries: 0, resets: 0 };
}
