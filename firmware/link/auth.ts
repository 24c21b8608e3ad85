/*
 * Message authentication between a concentrator and its keyed meters
 * (docs/security.md). Every unicast command carries the AUTH trailer: the concentrator's
 * frame counter and HMAC-SHA256(down key, header | body | counter) truncated to 8 bytes.
 * Every reply carries the meter's own frame counter and HMAC(up key, header | body |
 * counter | the counter of the request it answers): a reply is bound to its request too,
 * so an old reply replayed later never matches.
 *
 * A counter per direction, each persisted ahead of use:
 * - the concentrator's transmit counter is saved COUNTER_STEP ahead of the one in use, and
 *   resumes from the saved value after a restart, so it never sends a counter twice;
 * - a meter's transmit counter likewise, in its state log;
 * - a meter saves a high-water mark COUNTER_STEP above the newest counter it accepted,
 *   before accepting it, and after a restart accepts only counters above the mark, so a
 *   replay is refused even across restarts. A concentrator told AUTH_REPLAY (an
 *   unauthenticated ERROR, the only one it heeds) moves its counter COUNTER_STEP on;
 * - the concentrator takes from each meter only counters above the last it took (in RAM:
 *   after its restart the request binding alone refuses old replies).
 *
 * Broadcasts cannot carry a per-meter MAC. A keyed meter takes from a broadcast or a group
 * address only DATA_BLOCK and REPAIR_BLOCK (the image digest protects them), DISCOVER,
 * ACTIVATE and ABORT of a session, UPDATE_CONTROL (which can start a download but never
 * an installation: that takes the head-end's authorisation tag), SELECT_LIST (which only
 * lets a broadcast control through), GROUP_QUERY (which only makes it answer) and
 * AUTHORIZE_LIST (each entry is the head-end's tag for one meter, which only its key makes).
 * Everything else must come addressed to it and authenticated.
 */
import { Err } from "../common/errors";
import { sameBytes, type Hmac } from "../common/hmac";
import { P, T } from "../protocol/catalogue";
import type { LinkAuth } from "./endpoint";

/** How far ahead of use counters are persisted. */
export var COUNTER_STEP = 256;

export interface LinkKeys { down: Uint8Array; up: Uint8Array }

var placeholder = new Uint8Array(P.MAC);
var check = new Uint8Array(P.MAC);

function macOk(h: Hmac, key: Uint8Array, frame: Uint8Array, len: number, extra?: number): boolean {
  h.mac(key, frame, len - P.MAC, check, 0, P.MAC, extra);
  return sameBytes(check, 0, frame, len - P.MAC, P.MAC);
}

function broadcastOk(type: number): boolean {
  return type === T.DATA_BLOCK || type === T.REPAIR_BLOCK || type === T.DISCOVER || type === T.ACTIVATE || type === T.ABORT || type === T.UPDATE_CONTROL ||
    type === T.SELECT_LIST || type === T.GROUP_QUERY || type === T.AUTHORIZE_LIST;
}

/**
 * A meter's side. `rx0`, `tx0`: the marks saved before the restart (0 at first): the
 * receive high-water mark and the transmit counter's. `save(rx, tx)` persists new ones and
 * returns 0, or a code (then the command is refused, or the reply goes without a MAC).
 */
export function meterAuth(h: Hmac, k: LinkKeys, rx0: number, tx0: number, save: (rx: number, tx: number) => number): LinkAuth & { lastAccepted(): number } {
  var last = rx0, rxHw = rx0, tx = tx0, txHw = tx0, req = 0;
  return {
    lastAccepted: function () { return last; },
    seal: function (m) {
      // auth failures are told in the clear: the concentrator cannot match them to a request
      var clear = m.type === T.ERROR && m.body && m.body.code >= Err.AUTH_REQUIRED && m.body.code <= Err.AUTH_REPLAY;
      if (m.mode !== P.TO_METER || clear) { m.flags &= ~P.FLAG_AUTH; return; }
      if (tx + 1 >= txHw) {
        if (save(rxHw, tx + 1 + COUNTER_STEP)) { m.flags &= ~P.FLAG_AUTH; return; }
        txHw = tx + 1 + COUNTER_STEP;
      }
      tx++;
      m.flags |= P.FLAG_AUTH;
      m.counter = tx;
      m.mac = placeholder;
    },
    sign: function (frame, len) { h.mac(k.up, frame, len - P.MAC, frame, len - P.MAC, P.MAC, req); },
    open: function (m, frame, len) {
      if (m.mode !== P.TO_METER) return broadcastOk(m.type) ? 0 : Err.AUTH_REQUIRED;
      if (!(m.flags & P.FLAG_AUTH)) return Err.AUTH_REQUIRED;
      if (!macOk(h, k.down, frame, len)) return Err.AUTH_BAD_MAC;
      var c = m.counter >>> 0;
      if (c <= last) return Err.AUTH_REPLAY;
      if (c > rxHw) {
        var e = save(c + COUNTER_STEP, txHw);
        if (e) return e;
        rxHw = c + COUNTER_STEP;
      }
      last = c;
      req = c;
      return 0;
    },
  };
}

/**
 * The concentrator's side. `keys(id)`: the meter's link keys, or null for a meter without
 * (it is then spoken to in the clear); `slot(id)`: its registry index (-1: unknown);
 * `counter`: the saved transmit counter and how to save a new one.
 */
export function concentratorAuth(h: Hmac, keys: (id: number) => LinkKeys | null, slot: (id: number) => number, capacity: number,
  counter: { load(): number; save(hw: number): void }): LinkAuth & { counter(): number } {
  var tx = counter.load() >>> 0, hw = tx;
  var sent = new Uint32Array(capacity), got = new Uint32Array(capacity);
  var key: Uint8Array | null = null;
  function next(): number {
    tx = (tx + 1) >>> 0;
    if (tx >= hw) { hw = tx + COUNTER_STEP; counter.save(hw); }
    return tx;
  }
  return {
    counter: function () { return tx; },
    seal: function (m) {
      var k = m.mode === P.TO_METER ? keys(m.dst) : null;
      var i = k ? slot(m.dst) : -1;
      if (!k || i < 0) { m.flags &= ~P.FLAG_AUTH; key = null; return; }
      m.flags |= P.FLAG_AUTH;
      m.counter = next();
      m.mac = placeholder;
      sent[i] = m.counter;
      key = k.down;
    },
    sign: function (frame, len) { if (key) h.mac(key, frame, len - P.MAC, frame, len - P.MAC, P.MAC); },
    open: function (m, frame, len) {
      var k = keys(m.src);
      // a DEFICIT answers a broadcast: it cannot be bound to a request the meter may have missed
      // (a forged one can only cost airtime: silence or a deficit never completes a meter)
      if (!k || m.type === T.DISCOVER_REPLY || m.type === T.DEFICIT) return 0;
      if (!(m.flags & P.FLAG_AUTH)) {
        // the meter refused our counter as used: move past its mark, the retry goes through
        if (m.type === T.ERROR && m.body.code === Err.AUTH_REPLAY) { tx = (tx + COUNTER_STEP) >>> 0; if (tx >= hw) { hw = tx + COUNTER_STEP; counter.save(hw); } }
        return Err.AUTH_REQUIRED;
      }
      var i = slot(m.src);
      // bound to the request we sent it last, and newer than anything it sent before
      if (i < 0 || !macOk(h, k.up, frame, len, sent[i])) return Err.AUTH_BAD_MAC;
      var c = m.counter >>> 0;
      if (c <= got[i]) return Err.AUTH_REPLAY;
      got[i] = c;
      return 0;
    },
  };
}
