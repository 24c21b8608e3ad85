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
 *
 * Discovery is also how a meter joins: a reply names the meter's concentrator (DISCOVER_REPLY
 * home, 0 none). A neighbour's meter is left alone (counted, never registered); one of ours
 * is registered; a meter with none is claimed once the rounds are over (CONFIG_SET HOME, our
 * id, through `claim`) and registered only when it acknowledged (a keyed one before, for its
 * authenticated claim): two concentrators that discover at once cannot both take a meter, as a
 * meter with a concentrator hears no other. A meter the operator removed is left alone.
 */
import type { Clock } from "../../hal/types";
import { P, T } from "../protocol/catalogue";
import { putU16, U8, floor } from "../common/bytes";
import { Msg, newMsg, setMsg } from "../protocol/codec";
import type { Endpoint } from "../link/endpoint";
import { Registry, Rf } from "./registry";

export interface DiscoveryOptions { slots: number; slotMs: number; rounds: number; }

export interface Discovery {
  onMessage(m: Msg): boolean;
  found(): number;
}

/**
 * `home`: this concentrator's id; `claim(id, value, done)` sends meter `id` CONFIG_SET `Key.HOME`
 * with `value` and calls done(0) when it acknowledged, else its code.
 */
export function discover(ep: Endpoint, clock: Clock, reg: Registry, o: DiscoveryOptions, random: () => number, done: (found: number, neighbours: number) => void, home: number, claim: (id: number, value: Uint8Array, done: (code: number) => void) => void, keyed?: (id: number) => boolean): Discovery {
  var nonce = 0, round = 0, fresh = 0, found = 0, seq = 0;
  var tx = /*@__NOINLINE__*/ newMsg();
  // meters to claim (their kind and version, whether the registry knew them), and the neighbours' meters seen
  var unclaimed: { id: number; kind: number; version: number; known: boolean }[] = [], theirs: number[] = [];
  var value = new U8(2);
  putU16(value, 0, home);

  /** The rounds are over: each meter without a concentrator is asked to take this one, in turn. */
  function claimNext(): void {
    var u = unclaimed.shift();
    if (!u) { done(found, theirs.length); return; }
    // a keyed meter's claim is authenticated under its link keys, which the link finds by the
    // registry's index: it is registered first (as discovery always did a key-file meter), and
    // stays so when the claim goes unanswered; the next discovery claims it again
    if (keyed && !u.known && reg.add(u.id, Rf.DISCOVERED) < 0) { claimNext(); return; }
    claim(u.id, value, function (code) {
      if (!code) keep(u!.id, u!.kind, u!.version, u!.known);
      claimNext();
    });
  }

  function keep(id: number, kind: number, version: number, known: boolean): void {
    var i = reg.add(id, Rf.DISCOVERED);
    if (i < 0) return;
    if (!keyed) reg.setInfo(i, kind, version);
    reg.note(i, true, 0, floor(clock.now() / 1000));
    if (!known) found++;
  }

  function next(): void {
    if (round >= o.rounds || (round > 0 && fresh === 0)) { nonce = -1; claimNext(); return; }
    round++;
    fresh = 0;
    nonce = floor(random() * 0xffff);
    seq = (seq + 1) & 0xffff;
    ep.send(setMsg(tx, T.DISCOVER, seq, P.BROADCAST_ID, P.TO_ALL, P.BROADCAST_ID, { nonce: nonce, slots: o.slots, slotMs: o.slotMs, unregistered: 0 }));
    // every slot, plus time for the request to go out and the last reply to come in
    clock.setTimeout(next, o.slots * o.slotMs + 2000);
  }

  next();
  return {
    onMessage: function (m) {
      if (m.type !== T.DISCOVER_REPLY || m.body.nonce !== nonce) return false;
      var h = m.body.home, id = m.src, at = reg.find(id);
      // with keys: the key file's meters, and those of the registry (a mixed network's unkeyed
      // meters come from the configuration)
      if (keyed && !keyed(id) && at < 0) return true;
      if (h && h !== home) {
        if (theirs.indexOf(id) < 0) theirs.push(id);
        return true;
      }
      // never a meter the operator removed (meterline.home(id) takes it back)
      if (at >= 0 && reg.flags(at) & Rf.REMOVED) return true;
      if (h) {
        // ours already: registered now (a new one brings another round)
        if (at < 0) fresh++;
        keep(id, m.body.kind, m.body.version, at >= 0);
        return true;
      }
      // (one to claim brings another round, registered or not: a meter whose reply was lost
      // gets its chance in the next one)
      for (var k = 0; k < unclaimed.length; k++) if (unclaimed[k].id === id) return true;
      unclaimed.push({ id: id, kind: m.body.kind, version: m.body.version, known: at >= 0 });
      fresh++;
      return true;
    },
    found: function () { return found; },
  };
}
