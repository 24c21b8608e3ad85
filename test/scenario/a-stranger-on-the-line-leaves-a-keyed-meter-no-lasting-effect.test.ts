/*
 * The hardening issue's findings, each replayed as an attacker on the power line would (a
 * stranger's node on the simulated line, or recorded frames sent again), against a keyed
 * meter and its concentrator: the stranger may cost airtime, never a counter, a flash
 * write, a timer, an activation time or stored progress (docs/security.md, threat model).
 */
import { describe, expect, it } from "vitest";
import { LinkRig, bootMeter, lineFor, type MeterNode, type RigNode } from "../../bench/rig";
import { authorizeBody, BLOCK_KEY, CONC, controlBody, makeImage, msg, post, drain, request, blockMsg } from "../harness/scripted-concentrator";
import { concentratorAuth, COUNTER_MAX, type LinkKeys } from "../../firmware/link/auth";
import { hexKey, hmacSha256, TAG_INSTALL, TAG_ROLLBACK } from "../../firmware/common/hmac";
import { linkKeys } from "../../tools/keys/keyfile";
import { hostNative } from "../../hal/mock/native";
import { encodeMsg, decodeMsg, newMsg } from "../../firmware/protocol/codec";

import { T } from "../../firmware/protocol/catalogue";
import { Err as E } from "../../firmware/common/errors";

const K1 = "00112233445566778899aabbccddeeff";
const ROOT1 = hexKey(K1, 16)!;
const ID = 7001;
const BROADCAST = 0xffffffff;

function concentrator(rig: LinkRig, name: string, counter: { hw: number; saves: number }, keys: Record<number, LinkKeys> = { [ID]: linkKeys(ROOT1) }): RigNode {
  const auth = concentratorAuth(hmacSha256(hostNative, 242)!, (id) => keys[id] ?? null, (id) => (id === ID ? 0 : -1), 4,
    { load: () => counter.hw, save: (hw) => { counter.hw = hw; counter.saves++; } });
  auth.blocks(BLOCK_KEY); // its broadcast blocks signed under the campaign's block key
  return rig.add(name, CONC, undefined, auth);
}

function setup(hw = 0, version = 1) {
  const rig = new LinkRig("st7580", lineFor("st7580", 43, { log: true }));
  const counter = { hw, saves: 0 };
  const conc = concentrator(rig, "conc", counter);
  const m = bootMeter(rig, `m${ID}`, ID, { key: K1, version });
  const stranger = rig.add("stranger", CONC);
  rig.start();
  return { rig, conc, m, counter, stranger };
}

/** Everything the meter keeps in flash (registers and profile aside, which move with time). */
function stored(m: MeterNode): string {
  const r = m.board.regions;
  return [r.state!, r.buffer!, r.app!, r.boot!, r.prev!].map((x) => Buffer.from(m.flash.read(x.addr, x.size)).toString("hex")).join("|");
}

/** The bytes of `m` as a frame (no MAC: the stranger holds no key). */
function frame(m: ReturnType<typeof msg>): Uint8Array {
  const b = new Uint8Array(242);
  return b.slice(0, encodeMsg(m, b));
}

const savePulses = (rig: LinkRig, conc: RigNode) => request(rig, conc, msg(T.CONFIG_GET, { key: 3 }, ID))!.body.value[0];

/** Image 40 v2 authorised and controlled by address, and its first `blocks` blocks broadcast (signed) and stored. */
function downloading(rig: LinkRig, conc: RigNode, m: MeterNode, blocks: number) {
  const img = makeImage(2000, 200, { imageId: 40, version: 2 });
  const s = img.session;
  expect(request(rig, conc, msg(T.AUTHORIZE, authorizeBody(ROOT1, TAG_INSTALL, s, ID), ID))?.type).toBe(T.ACK);
  expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(s), ID))?.type).toBe(T.ACK);
  for (let i = 0; i < blocks; i++) post(rig, conc, blockMsg(img, i, BROADCAST, 2));
  drain(rig, conc);
  expect(m.meter.receiver.received()).toBe(blocks);
  return img;
}

/** Authorised, controlled and fully downloaded: image 40 v2 verified and waiting for its activation. */
function verified(rig: LinkRig, conc: RigNode, m: MeterNode) {
  const img = downloading(rig, conc, m, 10);
  expect(m.meter.receiver.state()).toBe(3);
  return img;
}

describe("a stranger on the line, against a keyed meter", () => {
  it("cannot replay a command near the counter's end after a restart: saved marks never wrap (finding 2)", () => {
    const { rig, conc, counter } = setup(COUNTER_MAX - 100);
    let m = rig.meters.get(ID)!;
    expect(request(rig, conc, msg(T.CONFIG_SET, { key: 3, value: Uint8Array.of(50, 0) }, ID))?.type).toBe(T.ACK);
    const rec = rig.line.log.filter((f) => f.from === "conc" && f.bytes[1] === T.CONFIG_SET).pop()!.bytes;
    expect(request(rig, conc, msg(T.CONFIG_SET, { key: 3, value: Uint8Array.of(60, 0) }, ID))?.type).toBe(T.ACK);
    m.powerOff();
    m = bootMeter(rig, `m${ID}`, ID, { key: K1, flash: m.flash });
    rig.clock.advance(3000);
    const n = rig.line.log.length;
    rig.line.node("stranger").transmit(rec);
    rig.clock.advance(3000);
    const answers = rig.line.log.slice(n).filter((f) => f.from === `m${ID}`).map((f) => { const r = newMsg(); decodeMsg(f.bytes, f.bytes.length, r); return r; });
    // its mark was saved capped at 2^32 - 1 (before: wrapped to a small number, and the old
    // command was taken again): the link is spent, and says so
    expect(answers.map((r) => r.type === T.ERROR ? r.body.code : r.type)).toEqual([E.AUTH_EXHAUSTED]);
    expect(m.meter.metering.getSetting(3)![0]).toBe(60);
    // the concentrator's own store never wrapped either
    expect(counter.hw).toBe(COUNTER_MAX);
  });

  it("a counter that reached its end closes the link with 146 instead of wrapping", () => {
    const { rig, conc, counter } = setup(COUNTER_MAX - 2);
    expect(request(rig, conc, msg(T.CONFIG_SET, { key: 3, value: Uint8Array.of(51, 0) }, ID))?.type).toBe(T.ACK); // uses 2^32 - 2
    expect(counter.hw).toBe(COUNTER_MAX);
    expect(request(rig, conc, msg(T.CONFIG_SET, { key: 3, value: Uint8Array.of(52, 0) }, ID))?.type).toBe(T.ACK); // the last: 2^32 - 1
    expect(conc.ep.send(msg(T.CONFIG_GET, { key: 3 }, ID))).toBe(E.AUTH_EXHAUSTED);
    expect(counter.hw).toBe(COUNTER_MAX);
  });

  it("cannot move an activation: a broadcast ACTIVATE at 0 or at 2^32 - 1, or a broadcast control with a time, changes nothing (finding 4)", () => {
    const { rig, conc, m, stranger } = setup();
    stranger.modem.start();
    verified(rig, conc, m);
    const before = stored(m);
    for (const at of [0, 0xffffffff]) {
      post(rig, stranger, msg(T.ACTIVATE, { imageId: 40, at }, BROADCAST, 2));
      drain(rig, stranger);
      rig.clock.advance(15_000);
      expect(m.meter.receiver.state()).toBe(3);
      expect(stored(m)).toBe(before);
    }
    // a broadcast control naming the authorised image with a time: the session keeps none
    const other = makeImage(2000, 200, { imageId: 40, version: 2 });
    post(rig, stranger, msg(T.UPDATE_CONTROL, { ...controlBody(other.session), activateAt: 5 }, BROADCAST, 2));
    drain(rig, stranger);
    expect(m.meter.receiver.session()?.activateAt).toBe(0);
    expect(stored(m)).toBe(before);
    // a broadcast ABORT does not end the session or write its record
    post(rig, stranger, msg(T.ABORT, { imageId: 40, reason: 0 }, BROADCAST, 2));
    drain(rig, stranger);
    expect(m.meter.receiver.session()?.imageId).toBe(40);
    expect(stored(m)).toBe(before);
    // the concentrator's own, addressed and authenticated, still activates
    expect(request(rig, conc, msg(T.ACTIVATE, { imageId: 40, at: 0 }, ID))?.type).toBe(T.ACK);
    expect(m.meter.receiver.state()).toBe(5);
  });

  it("cannot erase a download with a forged control: the authorised image's id, version and digest with another block size is refused, 50 times, nothing erased (finding 1)", () => {
    const { rig, conc, m, stranger } = setup();
    stranger.modem.start();
    const img = downloading(rig, conc, m, 6), s = img.session;
    const before = stored(m), erases = m.flash.counts.erases, lastError = m.meter.lastError();
    post(rig, stranger, msg(T.SELECT_LIST, { imageId: 40, ids: [{ id: ID }] }, BROADCAST, 2));
    for (let k = 0; k < 50; k++) post(rig, stranger, msg(T.UPDATE_CONTROL, { ...controlBody(s), blockSize: 100, blockCount: 20 }, BROADCAST, 2));
    drain(rig, stranger);
    // refused without a trace a person reading the meter would take for its own (before: lastError 144)
    expect(m.meter.lastError()).toBe(lastError);
    expect(m.flash.counts.erases).toBe(erases);
    expect(stored(m)).toBe(before);
    expect(m.meter.receiver.received()).toBe(6);
    expect(m.meter.receiver.session()?.blockSize).toBe(200);
  });

  it("cannot move the concentrator's counter with a clear-text error 142 in a meter's name (finding 5)", () => {
    const { rig, conc, counter, stranger } = setup();
    stranger.modem.start();
    expect(savePulses(rig, conc)).toBe(100);
    const hw = counter.hw, saves = counter.saves;
    const forged = newMsg();
    for (let i = 0; i < 50; i++) {
      Object.assign(forged, msg(T.ERROR, { refType: T.CONFIG_GET, refSeq: i, code: E.AUTH_REPLAY }, BROADCAST));
      forged.src = ID;
      rig.line.node("stranger").transmit(frame(forged));
      rig.clock.advance(300);
    }
    expect(counter.saves).toBe(saves);
    expect(counter.hw).toBe(hw);
    expect(conc.ep.stats.authRejected).toBeGreaterThanOrEqual(50);
    expect(savePulses(rig, conc)).toBe(100);
  });

  it("cannot spoil a download with forged broadcast blocks: data and repair blocks unsigned, or signed under another campaign's key, are dropped before anything is written, and the download still verifies (finding 1)", () => {
    const { rig, conc, m, stranger } = setup();
    stranger.modem.start();
    // a stranger who signs its blocks, under a key of its own (as a recording of another campaign would be)
    const other = concentratorAuth(hmacSha256(hostNative, 242)!, () => null, () => -1, 1, { load: () => 0, save: () => {} });
    other.blocks(Uint8Array.from(BLOCK_KEY, (b) => b ^ 0x55));
    const forger = rig.add("forger", CONC, undefined, other);
    forger.modem.start();
    const img = downloading(rig, conc, m, 6), s = img.session;
    const before = stored(m), erases = m.flash.counts.erases, writes = m.flash.counts.writes, rejected = m.meter.endpoint.stats.authRejected;
    const junk = (i: number) => new Uint8Array(200).fill(i);
    for (let i = 6; i < 10; i++) {
      for (const node of [stranger, forger]) {
        post(rig, node, msg(T.DATA_BLOCK, { imageId: 40, index: i, data: junk(i) }, BROADCAST, 2));
        post(rig, node, msg(T.REPAIR_BLOCK, { imageId: 40, index: i, data: junk(i) }, BROADCAST, 2));
        drain(rig, node);
      }
    }
    // the genuine blocks it has, recorded and sent again by the stranger: nothing new to write
    const genuine = rig.line.log.filter((f) => f.from === "conc" && f.bytes[1] === T.DATA_BLOCK).map((f) => f.bytes);
    for (const g of genuine) { rig.line.node("stranger").transmit(g); rig.clock.advance(400); }
    // 16 forged frames refused by the link, before the receiver saw them; not a word written or erased
    expect(m.meter.endpoint.stats.authRejected - rejected).toBe(16);
    expect([m.flash.counts.erases, m.flash.counts.writes]).toEqual([erases, writes]);
    expect(stored(m)).toBe(before);
    expect(m.meter.receiver.received()).toBe(6);
    // the concentrator's own blocks complete it, and the digest passes (state 3: verified)
    for (let i = 6; i < s.blockCount; i++) post(rig, conc, blockMsg(img, i, BROADCAST, 2));
    drain(rig, conc);
    expect(m.meter.receiver.state()).toBe(3);
  });

  it("cannot take back a rollback's authorisation by replaying the list of a higher version it replaced: nothing written, the rollback's control still taken", () => {
    const { rig, conc, m } = setup(0, 5);
    const v6 = makeImage(2000, 200, { imageId: 41, version: 6, seed: 3 }), v3 = makeImage(2000, 200, { imageId: 42, version: 3, seed: 4 });
    post(rig, conc, msg(T.AUTHORIZE_LIST, { ...authorizeBody(ROOT1, TAG_INSTALL, v6.session, ID), auths: [authorizeBody(ROOT1, TAG_INSTALL, v6.session, ID)] }, BROADCAST, 2));
    drain(rig, conc);
    const recorded = rig.line.log.filter((f) => f.from === "conc" && f.bytes[1] === T.AUTHORIZE_LIST)[0].bytes;
    // the head-end rolls the meter back instead (its floor is 0: nothing ever confirmed on it)
    expect(request(rig, conc, msg(T.AUTHORIZE, authorizeBody(ROOT1, TAG_ROLLBACK, v3.session, ID, 0), ID))?.type).toBe(T.ACK);
    const before = stored(m), writes = m.flash.counts.writes;
    rig.line.node("stranger").transmit(recorded);
    rig.clock.advance(3000);
    // before: the v6 list was newer than the newest authorisation (the rollback's v3): written, and the rollback's control refused (144)
    expect(m.flash.counts.writes).toBe(writes);
    expect(stored(m)).toBe(before);
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(v3.session), ID))?.type).toBe(T.ACK);
  });

  it("keeps no answer waiting past 10 minutes for a stranger's DISCOVERs, and a newer request's answer replaces it: the concentrator's group query is answered", () => {
    const { rig, conc, m, stranger } = setup();
    stranger.modem.start();
    const img = makeImage(2000, 200, { imageId: 40, version: 2 });
    expect(request(rig, conc, msg(T.AUTHORIZE, authorizeBody(ROOT1, TAG_INSTALL, img.session, ID), ID))?.type).toBe(T.ACK);
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), ID))?.type).toBe(T.ACK);
    for (let i = 0; i < 3; i++) post(rig, conc, blockMsg(img, i, BROADCAST, 2));
    drain(rig, conc);
    const fromMeter = (from: number) => rig.line.log.slice(from).filter((f) => f.from === `m${ID}`).map((f) => f.bytes[1]);
    // the longest slots a DISCOVER can name (255 of 65.5 s: over four and a half hours)
    for (let k = 0; k < 20; k++) post(rig, stranger, msg(T.DISCOVER, { nonce: k, slots: 255, slotMs: 65535, unregistered: 0 }, BROADCAST, 2));
    drain(rig, stranger);
    const n = rig.line.log.length;
    post(rig, conc, msg(T.GROUP_QUERY, { imageId: 40, who: 1, slots: 4, slotMs: 500 }, BROADCAST, 2));
    drain(rig, conc);
    rig.clock.advance(10_000);
    // before: the DISCOVER's answer held the one slot for hours, and the query went unanswered
    expect(fromMeter(n)).toEqual([T.DEFICIT]);
    // a DISCOVER alone: its answer goes within 10 minutes whatever its slot, once
    const k = rig.line.log.length;
    post(rig, stranger, msg(T.DISCOVER, { nonce: 99, slots: 255, slotMs: 65535, unregistered: 0 }, BROADCAST, 2));
    drain(rig, stranger);
    rig.clock.advance(600_000 + 2000);
    expect(fromMeter(k)).toEqual([T.DISCOVER_REPLY]);
    expect(m.meter.receiver.received()).toBe(3);
  });

  it("cannot take back an authorisation by replaying an older broadcast one after the meter restarted: nothing written, the newer one still holds", () => {
    const { rig, conc, m } = setup();
    const a = makeImage(2000, 200, { imageId: 40, version: 2 }), b = makeImage(2000, 200, { imageId: 41, version: 3, seed: 5 });
    const list = (img: ReturnType<typeof makeImage>) => msg(T.AUTHORIZE_LIST, { ...authorizeBody(ROOT1, TAG_INSTALL, img.session, ID), auths: [authorizeBody(ROOT1, TAG_INSTALL, img.session, ID)] }, BROADCAST, 2);
    post(rig, conc, list(a));
    post(rig, conc, list(b));
    drain(rig, conc);
    const recorded = rig.line.log.filter((f) => f.from === "conc" && f.bytes[1] === T.AUTHORIZE_LIST)[0].bytes;
    m.powerOff();
    const m2 = bootMeter(rig, `m${ID}`, ID, { key: K1, flash: m.flash });
    rig.clock.advance(3000);
    const before = stored(m2);
    rig.line.node("stranger").transmit(recorded);
    rig.clock.advance(3000);
    // before: the meter kept the version of lists it took only in RAM, took v2's list again
    // after its restart, wrote it, and then refused v3's control (144)
    expect(stored(m2)).toBe(before);
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(b.session), ID))?.type).toBe(T.ACK);
  });

  it("costs the meter no counter, no write, no lasting timer and no lastError with frames without a MAC (finding 6)", () => {
    const { rig, conc, m, stranger } = setup();
    stranger.modem.start();
    expect(savePulses(rig, conc)).toBe(100); // an accepted command first: the meter's marks are saved
    const before = stored(m), lastError = m.meter.lastError();
    const timers = rig.clock.pending;
    // unknown unicast types, and known ones without a MAC
    const unknown = frame(msg(T.CONFIG_GET, { key: 3 }, ID));
    unknown[1] = 0x7e;
    for (let i = 0; i < 300; i++) {
      rig.line.node("stranger").transmit(i % 2 ? unknown : frame(msg(T.CONFIG_GET, { key: 3 }, ID)));
      rig.clock.advance(120);
    }
    // a flood of DISCOVERs with long reply slots: at most one answer waits
    for (let i = 0; i < 300; i++) rig.line.node("stranger").transmit(frame(msg(T.DISCOVER, { nonce: i, slots: 255, slotMs: 60_000, unregistered: 0 }, BROADCAST, 2)));
    rig.clock.advance(100);
    expect(rig.clock.pending - timers).toBeLessThanOrEqual(1);
    rig.clock.advance(255 * 60_000);
    // faster than the meter can answer: its two-frame queue fills (before: lastError 50 LINK_QUEUE_FULL)
    for (let i = 0; i < 40; i++) { rig.line.node("stranger").transmit(frame(msg(T.DISCOVER, { nonce: 1000 + i, slots: 1, slotMs: 20, unregistered: 0 }, BROADCAST, 2))); rig.clock.advance(30); }
    for (let i = 0; i < 40; i++) { rig.line.node("stranger").transmit(frame(msg(T.READ_REQ, { what: 1, obis: new Uint8Array(6).fill(255), from: 0, count: 0 }, ID))); rig.clock.advance(40); }
    rig.clock.advance(5000);
    // state log (counter marks), buffer and programs: not a byte written
    expect(stored(m)).toBe(before);
    expect(m.meter.lastError()).toBe(lastError);
    // every answer it gave the stranger went out unsigned (no counter of its own spent)
    const replies = rig.line.log.filter((f) => f.from === `m${ID}`).map((f) => { const r = newMsg(); decodeMsg(f.bytes, f.bytes.length, r); return r; });
    const toStranger = replies.filter((r) => r.type === T.ERROR || r.type === T.DISCOVER_REPLY);
    expect(toStranger.length).toBeGreaterThan(0);
    expect(toStranger.every((r) => !(r.flags & 1))).toBe(true);
    // and the concentrator's next command still goes through, its reply signed
    const r = request(rig, conc, msg(T.CONFIG_GET, { key: 3 }, ID));
    expect(r?.flags! & 1).toBe(1);
  });
});
