/*
 * A protocol endpoint on top of any modem driver: it encodes messages into a small
 * transmit queue (buffers allocated once), feeds the modem one frame at a time, decodes
 * what arrives into one reusable message, and passes on only what is addressed to this
 * node: its id, a group it belongs to, or broadcast (and, on a meter that has a concentrator,
 * only from that concentrator). Meter and concentrator both use it.
 */
import { Err } from "../common/errors";
import { P, T } from "../protocol/catalogue";
import { decodeMsg, encodeMsg, Msg, newMsg } from "../protocol/codec";
import { Modem, ModemEvents } from "./modem";
import { U8 } from "../common/bytes";

export interface EndpointStats {
  sent: number;
  sendFailed: number;
  received: number;
  /** Frames that failed to decode; `lastDecodeError` keeps the code. */
  decodeErrors: number;
  lastDecodeError: number;
  notForUs: number;
  queueFull: number;
  /** Frames for us that failed authentication (missing, bad MAC, replayed). */
  authRejected: number;
}

/**
 * Message authentication, when keys are provisioned (firmware/link/auth.ts). The endpoint
 * calls `seal` before encoding every message it sends (set or clear FLAG_AUTH, counter and
 * a MAC placeholder; a code instead of 0, such as AUTH_EXHAUSTED, refuses the send),
 * `sign` on the encoded frame (writes the MAC), and `open` on every decoded message
 * addressed to it (0 to accept, else a code: the message is dropped).
 */
export interface LinkAuth {
  seal(m: Msg): number;
  sign(frame: Uint8Array, len: number): void;
  open(m: Msg, frame: Uint8Array, len: number): number;
}

export interface Endpoint {
  /** Sink for the driver's events: pass it to the driver's constructor. */
  events: ModemEvents;
  attach(modem: Modem): void;
  /** Queues a message; 0, or a code (a protocol encode error, LINK_QUEUE_FULL). */
  send(m: Msg): number;
  /** Frames queued or on the way. */
  pending(): number;
  /** Length in bytes of the frame the last successful send() queued. */
  lastLength(): number;
  ready(): boolean;
  stats: EndpointStats;
}

export interface EndpointHandlers {
  /** A message for this node; `m` is reused for the next one. `quality` from the modem. */
  message(m: Msg, quality: number): void;
  /** The link became ready (err 0) or failed to start. */
  ready(err: number): void;
  /** A queued frame left (err 0) or failed; `type` and `seq` identify it. */
  sent?(type: number, seq: number, err: number): void;
  /**
   * A frame addressed to this node whose header decoded but whose body did not (unknown
   * type, bad layout): `m` holds the header, `err` the code. Optional.
   */
  malformed?(m: Msg, err: number): void;
  /** Group membership test for TO_GROUP destinations. */
  inGroup(group: number): boolean;
  /**
   * A meter's settings, whose `home` is its concentrator (its id, 1 to 0xFFFE; 0: none): set,
   * the node hears only frames from that concentrator's address, and anyone's DISCOVER. Read
   * at every frame (the meter's own object: no copy to keep in step, no variable of its own).
   */
  peer?: { home: number };
  auth?: LinkAuth;
}

export function endpoint(myId: number, queueLen: number, h: EndpointHandlers): Endpoint {
  // each queued frame's buffer, and its length, type and seq (three numbers a slot in one array)
  var bufs: Uint8Array[] = [], meta: number[] = [];
  for (var i = 0; i < queueLen; i++) {
    bufs.push(new U8(P.MAX_FRAME));
    meta.push(0, 0, 0);
  }
  var head = 0, count = 0, busy = false, isReady = false, last = 0;
  var modem: Modem | null = null;
  var rx = newMsg();
  var stats: EndpointStats = { sent: 0, sendFailed: 0, received: 0, decodeErrors: 0, lastDecodeError: 0, notForUs: 0, queueFull: 0, authRejected: 0 };

  function pump(): void {
    if (busy || !count || !modem || !isReady) return;
    var err = modem.send(bufs[head], meta[head * 3]);
    if (err) {
      // the driver refused outright (not ready): drop this frame so the queue cannot jam
      done(err);
      return;
    }
    busy = true;
  }

  function done(err: number): void {
    var t = meta[head * 3 + 1], s = meta[head * 3 + 2];
    head = (head + 1) % queueLen;
    count--;
    busy = false;
    if (err) stats.sendFailed++;
    else stats.sent++;
    if (h.sent) h.sent(t, s, err);
    pump();
  }

  function forUs(m: Msg): boolean {
    // a neighbouring concentrator's frames, broadcasts included, are not for a meter that has its own
    if (h.peer && h.peer.home && m.src !== P.CONC_BASE + h.peer.home && m.type !== T.DISCOVER) return false;
    if (m.mode === P.TO_ALL) return true;
    if (m.mode === P.TO_METER) return m.dst === myId;
    return h.inGroup(m.dst);
  }

  var events: ModemEvents = {
    ready: function (err) {
      isReady = err === 0;
      if (!isReady) busy = false;
      h.ready(err);
      pump();
    },
    sent: function (err) {
      if (busy) done(err);
    },
    received: function (data, len, quality) {
      var err = decodeMsg(data, len, rx);
      if (err) {
        stats.decodeErrors++;
        stats.lastDecodeError = err;
        if (h.malformed && len >= P.HEADER && len <= P.MAX_FRAME && err !== Err.PROTO_VERSION && err !== Err.PROTO_BAD_ADDRESS && forUs(rx)) h.malformed(rx, err);
        return;
      }
      if (!forUs(rx)) {
        stats.notForUs++;
        return;
      }
      if (h.auth) {
        var ae = h.auth.open(rx, data, len);
        if (ae) {
          stats.authRejected++;
          if (h.malformed) h.malformed(rx, ae);
          return;
        }
      }
      stats.received++;
      h.message(rx, quality);
    },
  };

  return {
    events: events,
    attach: function (m) { modem = m; },
    send: function (m) {
      // every frame goes under this node's own address
      m.src = myId;
      if (count === queueLen) {
        stats.queueFull++;
        return Err.LINK_QUEUE_FULL;
      }
      var slot = (head + count) % queueLen;
      var se = h.auth ? h.auth.seal(m) : 0;
      if (se) return se;
      var n = encodeMsg(m, bufs[slot]);
      if (n < 0) return -n;
      if (h.auth && (m.flags & P.FLAG_AUTH)) h.auth.sign(bufs[slot], n);
      meta[slot * 3] = last = n;
      meta[slot * 3 + 1] = m.type;
      meta[slot * 3 + 2] = m.seq;
      count++;
      pump();
      return 0;
    },
    pending: function () { return count; },
    lastLength: function () { return last; },
    ready: function () { return isReady; },
    stats: stats,
  };
}
