/*
 * Message authentication between a concentrator and its keyed meters
 * (docs/security.md). Every unicast command carries the AUTH trailer: the concentrator's
 * frame counter and HMAC-SHA256(down key, header | body | counter) truncated to 8 bytes.
 * Every reply carries the meter's own frame counter and HMAC(up key, header | body |
 * counter | the counter of the request it answers): a reply is bound to its request too,
 * so an old reply replayed later never matches.
 *
 * A counter per direction, each persisted ahead of use and never wrapping (a mark is
 * capped at 2^32 - 1; a link whose counter reaches it stays closed with AUTH_EXHAUSTED
 * until the meter is re-keyed):
 * - the concentrator's transmit counter is saved COUNTER_STEP ahead of the one in use, and
 *   resumes from the saved value after a restart, so it never sends a counter twice;
 * - a meter's transmit counter likewise, in its state log;
 * - a meter saves a high-water mark COUNTER_STEP above the newest counter it accepted,
 *   before accepting it, and after a restart accepts only counters above the mark, so a
 *   replay is refused even across restarts;
 * - a meter signs a reply only to a command it accepted, just then: frames without a
 *   valid MAC, broadcasts and its answers to them (DISCOVER_REPLY, DEFICIT) cost it no
 *   counter and no write;
 * - a command whose MAC checks but whose counter is stale gets AUTH_REPLAY signed under
 *   the up key, bound to that command's counter, carrying the meter's mark as its counter
 *   and spending none of its own; the concentrator, which never sends a counter twice,
 *   takes it only bound to the request it just sent and moves its counter above the mark.
 *   Every other error about authentication travels in the clear and changes nothing;
 * - the concentrator takes from each meter only counters above the last it took (in RAM:
 *   after its restart the request binding alone refuses old replies).
 *
 * Broadcasts cannot carry a per-meter MAC. A keyed meter takes from a broadcast or a group
 * address only DATA_BLOCK and REPAIR_BLOCK with the AUTH trailer, its MAC under the block
 * key of the newest authorisation it holds (HMAC(block key, header | body | counter), the
 * counter 0: a block means the same whenever it comes, and the key is the campaign's, so
 * one from another campaign fails; the head-end's tag binds that key, and a stranger
 * never holds it), DISCOVER,
 * UPDATE_CONTROL (which can start a download but never an installation: that takes the
 * head-end's authorisation tag, and it must match every field the tag binds), SELECT_LIST
 * (which only lets a broadcast control through), GROUP_QUERY (which only makes it answer)
 * and AUTHORIZE_LIST (each entry is the head-end's tag for one meter, which only its key
 * makes). ACTIVATE and ABORT must come addressed and authenticated: they decide when an
 * image runs and whether progress is kept. Everything else, too.
 */
import { Err } from "../common/errors";
import { sameBytes, type Hmac } from "../common/hmac";
import { P, T } from "../protocol/catalogue";
import type { LinkAuth } from "./endpoint";
import { U8, U32, math } from "../common/bytes";

/** How far ahead of use counters are persisted. */
export var COUNTER_STEP = 256;
/** The last counter: a mark never goes past it (saved marks do not wrap). */
export var COUNTER_MAX = 0xffffffff;

/** The mark saved ahead of counter `c`. */
function ahead(c: number): number {
  return math.min(c + COUNTER_STEP, COUNTER_MAX);
}

export interface LinkKeys { down: Uint8Array; up: Uint8Array }

var placeholder = new U8(P.MAC);
var check = new U8(P.MAC);

function macOk(h: Hmac, key: Uint8Array, frame: Uint8Array, len: number, extra?: number): boolean {
  h.mac(key, frame, len - P.MAC, check, 0, P.MAC, extra);
  return sameBytes(check, 0, frame, len - P.MAC, P.MAC);
}

/**
 * A meter's side. `rx0`, `tx0`: the marks saved before the restart (0 at first): the
 * receive high-water mark and the transmit counter's. `save(rx, tx)` persists new ones and
 * returns 0, or a code (then the command is refused, or the reply goes without a MAC).
 * `blockKey()`: the block key of the newest authorisation (null: none), which a broadcast
 * DATA_BLOCK or REPAIR_BLOCK must be signed with. `next()`: the link keys of a key rotation
 * on its way (null: none): a command under them is heard too, and `commit()` (0, or a code
 * that refuses the command) makes them `k`'s before it is taken (firmware/meter/authorise.ts).
 */
export function meterAuth(h: Hmac, k: LinkKeys, rx0: number, tx0: number, save: (rx: number, tx: number) => number, blockKey: () => Uint8Array | null,
  next?: () => LinkKeys | null, commit?: () => number): LinkAuth {
  // `answering`: the last frame for us was a command it accepted (its reply may be signed);
  // `stale`: the counter of a command whose MAC checked but whose counter was used (-1: none)
  var last = rx0, rxHw = rx0, tx = tx0, txHw = tx0, req = 0, answering = false, stale = -1;
  return {
    seal: function (m) {
      m.flags &= ~P.FLAG_AUTH;
      if (m.type === T.ERROR && m.body && m.body.code === Err.AUTH_REPLAY && stale >= 0) {
        // where our mark is, for the concentrator that sent it: bound to its command, no counter of ours
        req = stale;
        stale = -1;
        m.flags |= P.FLAG_AUTH;
        m.counter = rxHw;
        m.mac = placeholder;
        return 0;
      }
      if (m.mode !== P.TO_METER || !answering) return 0;
      answering = false;
      if (tx + 1 >= txHw) {
        if (txHw >= COUNTER_MAX) return Err.AUTH_EXHAUSTED;
        var hw = ahead(tx + 1);
        if (save(rxHw, hw)) return 0;
        txHw = hw;
      }
      tx++;
      m.flags |= P.FLAG_AUTH;
      m.counter = tx;
      m.mac = placeholder;
      return 0;
    },
    sign: function (frame, len) { h.mac(k.up, frame, len - P.MAC, frame, len - P.MAC, P.MAC, req); },
    open: function (m, frame, len) {
      answering = false;
      stale = -1;
      if (m.mode !== P.TO_METER) {
        // (the checks are written in place: a helper used once becomes a call the minifier cannot undo)
        var t = m.type;
        // a broadcast in the clear: the ones that only ask or announce, never a block
        if (t !== T.DATA_BLOCK && t !== T.REPAIR_BLOCK) return t === T.DISCOVER || t === T.UPDATE_CONTROL || t === T.SELECT_LIST || t === T.GROUP_QUERY || t === T.AUTHORIZE_LIST ? 0 : Err.AUTH_REQUIRED;
        var bk = blockKey();
        // checked before anything is stored: a forged block costs nothing but its airtime
        return !bk || !(m.flags & P.FLAG_AUTH) ? Err.AUTH_REQUIRED : macOk(h, bk, frame, len) ? 0 : Err.AUTH_BAD_MAC;
      }
      if (!(m.flags & P.FLAG_AUTH)) return Err.AUTH_REQUIRED;
      // under a rotation's new key (nk): heard too, and the first fresh command under it
      // makes it the one in use, below
      var nk: LinkKeys | null = null;
      if (!macOk(h, k.down, frame, len)) {
        nk = next ? next() : null;
        if (!nk || !macOk(h, nk.down, frame, len)) return Err.AUTH_BAD_MAC;
      }
      if (last >= COUNTER_MAX) return Err.AUTH_EXHAUSTED;
      var c = m.counter >>> 0;
      // a recorded frame under the new key, replayed, commits nothing (its answer goes in the clear)
      if (c <= last) { if (!nk) stale = c; return Err.AUTH_REPLAY; }
      if (nk) {
        var ce = commit!();
        if (ce) return ce;
      }
      if (c > rxHw) {
        var mark = ahead(c);
        var e = save(mark, txHw);
        if (e) return e;
        rxHw = mark;
      }
      last = c;
      req = c;
      answering = true;
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
  counter: { load(): number; save(hw: number): void }): LinkAuth & { counter(): number; blocks(key: Uint8Array | null): void } {
  var tx = counter.load() >>> 0, hw = tx;
  var sent = new U32(capacity), got = new U32(capacity);
  var key: Uint8Array | null = null, bk: Uint8Array | null = null;
  return {
    counter: function () { return tx; },
    /** The block key of the campaign under way (from the head-end's tags file), or null. */
    blocks: function (k) { bk = k; },
    seal: function (m) {
      var k = m.mode === P.TO_METER ? keys(m.dst) : null;
      var i = k ? slot(m.dst) : -1;
      m.flags &= ~P.FLAG_AUTH;
      key = null;
      if (m.mode !== P.TO_METER && bk && (m.type === T.DATA_BLOCK || m.type === T.REPAIR_BLOCK)) {
        // a broadcast block of a keyed campaign: signed under its block key, counter 0
        m.flags |= P.FLAG_AUTH;
        m.counter = 0;
        m.mac = placeholder;
        key = bk;
        return 0;
      }
      if (!k || i < 0) return 0;
      if (tx >= COUNTER_MAX) return Err.AUTH_EXHAUSTED;
      tx++;
      if (tx >= hw) { hw = ahead(tx); counter.save(hw); }
      m.flags |= P.FLAG_AUTH;
      m.counter = tx;
      m.mac = placeholder;
      sent[i] = tx;
      key = k.down;
      return 0;
    },
    sign: function (frame, len) { if (key) h.mac(key, frame, len - P.MAC, frame, len - P.MAC, P.MAC); },
    open: function (m, frame, len) {
      var k = keys(m.src);
      // a DEFICIT answers a broadcast: it cannot be bound to a request the meter may have missed
      // (a forged one can only cost airtime: silence or a deficit never completes a meter)
      if (!k || m.type === T.DISCOVER_REPLY || m.type === T.DEFICIT) return 0;
      // anything else in the clear changes nothing: errors about authentication come so
      if (!(m.flags & P.FLAG_AUTH)) return Err.AUTH_REQUIRED;
      var i = slot(m.src);
      // bound to the request we sent it last, and newer than anything it sent before
      if (i < 0 || !macOk(h, k.up, frame, len, sent[i])) return Err.AUTH_BAD_MAC;
      var c = m.counter >>> 0;
      // the meter refused our counter as used, and says (signed) where its mark is: move
      // above it (saved with the next send), so the retry goes through
      if (m.type === T.ERROR && m.body.code === Err.AUTH_REPLAY) {
        if (c > tx) tx = c;
        return Err.AUTH_REPLAY;
      }
      if (c <= got[i]) return Err.AUTH_REPLAY;
      got[i] = c;
      return 0;
    },
  };
}
