/*
 * Discovery: a broadcast DISCOVER that meters answer in a reply slot they pick at random,
 * repeated until a round brings no meter the registry did not know (replies that collided
 * in a slot come back in a later round), or the round limit.
 *
 * A reply is unauthenticated (it answers a broadcast; its nonce was on the line), so with
 * keys (`keyed(id)`: the concentrator holds that meter's link keys) only meters of the key
 * file are kept, and a keyed meter's kind and version are left to its authenticated
 * IDENTITY (0, unknown, until then: an "outdated" selection takes it): a stranger can
 * neither fill the registry with made-up ids nor write what it keeps of a keyed meter
 * (docs/security.md).
 */
import type { Clock } from "../../hal/types";
import { P, T } from "../protocol/catalogue";
import { Msg, newMsg, setMsg } from "../protocol/codec";
import type { Endpoint } from "../link/endpoint";
import { Registry, Rf } from "./registry";

export interface DiscoveryOptions { slots: number; slotMs: number; rounds: number; }

export interface Discovery {
  onMessage(m: Msg): boolean;
  found(): number;
}

export function discover(ep: Endpoint, clock: Clock, reg: Registry, o: DiscoveryOptions, random: () => number, done: (found: number) => void, keyed?: (id: number) => boolean): Discovery {
  var nonce = 0, round = 0, fresh = 0, found = 0, seq = 0;
  var tx = /*@__NOINLINE__*/ newMsg();

  function next(): void {
    if (round >= o.rounds || (round > 0 && fresh === 0)) { nonce = -1; done(found); return; }
    round++;
    fresh = 0;
    nonce = Math.floor(random() * 0xffff);
    seq = (seq + 1) & 0xffff;
    ep.send(setMsg(tx, T.DISCOVER, seq, P.BROADCAST_ID, P.TO_ALL, P.BROADCAST_ID, { nonce: nonce, slots: o.slots, slotMs: o.slotMs, unregistered: 0 }));
    // every slot, plus time for the request to go out and the last reply to come in
    clock.setTimeout(next, o.slots * o.slotMs + 2000);
  }

  next();
  return {
    onMessage: function (m) {
      if (m.type !== T.DISCOVER_REPLY || m.body.nonce !== nonce) return false;
      if (keyed && !keyed(m.src)) return true;
      var known = reg.find(m.src) >= 0;
      var i = reg.add(m.src, Rf.DISCOVERED);
      if (i < 0) return true;
      if (!keyed) reg.setInfo(i, m.body.kind, m.body.version);
      reg.note(i, true, 0, Math.floor(clock.now() / 1000));
      if (!known) { fresh++; found++; }
      return true;
    },
    found: function () { return found; },
  };
}
