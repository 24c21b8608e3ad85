/*
 * A keyed meter (docs/security.md) against each attack the security issue names, on the
 * simulated line: each is refused with its code and nothing the meter stores changes.
 */
import { describe, expect, it } from "vitest";
import { LinkRig, bootMeter, lineFor, type MeterNode, type RigNode } from "../../bench/rig";
import { authorizeBody, BLOCK_KEY, CONC, controlBody, makeImage, msg, post, drain, request, blockMsg, type Image } from "../harness/scripted-concentrator";
import { concentratorAuth, type LinkKeys } from "../../firmware/link/auth";
import { hexKey, hmacSha256, TAG_INSTALL, TAG_ROLLBACK } from "../../firmware/common/hmac";
import { linkKeys } from "../../tools/keys/keyfile";
import { hostNative } from "../../hal/mock/native";
import { decodeMsg, newMsg, type Msg } from "../../firmware/protocol/codec";
import { T } from "../../firmware/protocol/catalogue";
import { bodyOf } from "../../tools/protocol/typed";

const E = { UPDATE_WRONG_BOARD: 80, UPDATE_TOO_LARGE: 83, UPDATE_NOT_NEWER: 84, UPDATE_NOT_VERIFIED: 86, AUTH_REQUIRED: 140, AUTH_BAD_MAC: 141, AUTH_REPLAY: 142, AUTH_BAD_TAG: 143, AUTH_NO_TAG: 144 };
const K1 = "00112233445566778899aabbccddeeff", K2 = "ffeeddccbbaa99887766554433221100";
const ROOT1 = hexKey(K1, 16)!, ROOT2 = hexKey(K2, 16)!;
const ID = 7001;

/** A concentrator endpoint holding meter 7001's (and 7002's) link keys, with its own counter store. */
function concentrator(rig: LinkRig, name: string, counter: { hw: number }, keys: Record<number, LinkKeys> = { 7001: linkKeys(ROOT1), 7002: linkKeys(ROOT2) }): RigNode {
  const auth = concentratorAuth(hmacSha256(hostNative, 242)!, (id) => keys[id] ?? null, (id) => (id === 7001 ? 0 : id === 7002 ? 1 : -1), 4,
    { load: () => counter.hw, save: (hw) => { counter.hw = hw; } });
  auth.blocks(BLOCK_KEY); // its broadcast blocks signed under the campaign's block key
  return rig.add(name, CONC, undefined, auth);
}

function setup(version = 1) {
  const rig = new LinkRig("st7580", lineFor("st7580", 41, { log: true }));
  const counter = { hw: 0 };
  const conc = concentrator(rig, "conc", counter);
  const m = bootMeter(rig, `m${ID}`, ID, { key: K1, version });
  rig.start();
  return { rig, conc, m, counter };
}

/** What the meter keeps: its state log, buffer, app and boot regions (registers and profile move with time). */
function stored(m: MeterNode): string {
  const r = m.board.regions;
  return [r.state!, r.buffer!, r.app!, r.boot!, r.prev!].map((x) => Buffer.from(m.flash.read(x.addr, x.size)).toString("hex")).join("|");
}

/** Errors the meter put on the line (auth errors travel in the clear and the concentrator drops them). */
function errorsOnLine(rig: LinkRig, from: number): number[] {
  const out: number[] = [];
  for (const f of rig.line.log) {
    const m = newMsg();
    if (!decodeMsg(f.bytes, f.bytes.length, m) && m.src === from && m.type === T.ERROR) out.push(bodyOf(m, T.ERROR)!.code);
  }
  return out;
}

/** What an AUTHORIZE (or an AUTHORIZE_LIST) names of the image: the fields its tag binds. */
const bound = (x: Image["session"]) => ({ imageId: x.imageId, version: x.version, board: x.board, size: x.size, blockSize: x.blockSize, blockCount: x.blockCount, digest: x.digest });
const authorize = (img: Image, kind: number, root: Uint8Array, forId = ID, floor = 0) =>
  msg(T.AUTHORIZE, authorizeBody(root, kind, img.session, forId, floor), ID);

const savePulses = (rig: LinkRig, conc: RigNode) => request(rig, conc, msg(T.CONFIG_GET, { key: 3 }, ID))!.body.value[0];

describe("a keyed meter", () => {
  it("takes authenticated commands, and answers with its own MAC", () => {
    const { rig, conc, m } = setup();
    const r = request(rig, conc, msg(T.CONFIG_SET, { key: 3, value: Uint8Array.of(50, 0) }, ID));
    expect(r?.type).toBe(T.ACK);
    expect(r!.flags & 1).toBe(1); // the reply carried the trailer, and the concentrator checked it
    expect(savePulses(rig, conc)).toBe(50);
    expect(m.meter.endpoint.stats.authRejected).toBe(0);
  });

  it("refuses a command without a MAC (140) or with a wrong one (141), and changes nothing", () => {
    const { rig, conc, m } = setup();
    const stranger = rig.add("stranger", CONC);
    const impostor = concentrator(rig, "impostor", { hw: 5000 }, { 7001: linkKeys(ROOT2) });
    stranger.modem.start();
    impostor.modem.start();
    rig.clock.advance(3000);
    expect(savePulses(rig, conc)).toBe(100); // an accepted command first: its counter mark is saved
    const before = stored(m);
    post(rig, stranger, msg(T.CONFIG_SET, { key: 3, value: Uint8Array.of(9, 0) }, ID));
    post(rig, impostor, msg(T.CONFIG_SET, { key: 3, value: Uint8Array.of(9, 0) }, ID));
    drain(rig, impostor);
    rig.clock.advance(3000);
    expect(errorsOnLine(rig, ID)).toEqual([E.AUTH_REQUIRED, E.AUTH_BAD_MAC]);
    expect(m.meter.endpoint.stats.authRejected).toBe(2);
    expect(stored(m)).toBe(before);
    expect(savePulses(rig, conc)).toBe(100);
    // a broadcast it needs authenticated (the clock) is dropped too
    post(rig, stranger, msg(T.TIME_SET, { time: 1_800_000_000 }, 0xffffffff, 2));
    rig.clock.advance(3000);
    expect(m.meter.metering.wallTime()).toBe(0);
  });

  it("refuses a replayed command (142), also after a restart, and a stale counter (142)", () => {
    const { rig, conc } = setup();
    let m = rig.meters.get(ID)!;
    expect(request(rig, conc, msg(T.CONFIG_SET, { key: 3, value: Uint8Array.of(50, 0) }, ID))?.type).toBe(T.ACK);
    const frame50 = rig.line.log.filter((f) => f.from === "conc" && f.bytes[1] === T.CONFIG_SET).pop()!.bytes;
    expect(request(rig, conc, msg(T.CONFIG_SET, { key: 3, value: Uint8Array.of(60, 0) }, ID))?.type).toBe(T.ACK);
    const before = stored(m);
    // the recorded frame again, byte for byte
    rig.line.node("conc").transmit(frame50);
    rig.clock.advance(3000);
    expect(errorsOnLine(rig, ID).pop()).toBe(E.AUTH_REPLAY);
    expect(savePulses(rig, conc)).toBe(60);
    // the meter restarts: the mark it saved ahead of use still refuses the old frame
    m.powerOff();
    m = bootMeter(rig, `m${ID}`, ID, { key: K1, flash: m.flash });
    rig.clock.advance(3000);
    const afterBoot = stored(m);
    rig.line.node("conc").transmit(frame50);
    rig.clock.advance(3000);
    expect(errorsOnLine(rig, ID).pop()).toBe(E.AUTH_REPLAY);
    expect(stored(m)).toBe(afterBoot);
    expect(before.length).toBe(afterBoot.length);
    // a concentrator that lost its counter (fresh store) is stale: refused, then it moves past the mark
    const lost = concentrator(rig, "conc-2", { hw: 0 });
    lost.modem.start();
    rig.clock.advance(3000);
    const n = errorsOnLine(rig, ID).length;
    const r = request(rig, lost, msg(T.CONFIG_SET, { key: 3, value: Uint8Array.of(70, 0) }, ID));
    expect(errorsOnLine(rig, ID).slice(n)[0]).toBe(E.AUTH_REPLAY);
    expect(r?.type).toBe(T.ACK); // the retry after the move
    expect(savePulses(rig, lost)).toBe(70);
  });

  it("takes an image only with the head-end's tag for it and this meter: wrong tag 143, another meter's 143, none 144", () => {
    const { rig, conc, m } = setup();
    const img = makeImage(2000, 200, { imageId: 21, version: 2 });
    expect(savePulses(rig, conc)).toBe(100); // an accepted command first: its counter mark is saved
    const before = stored(m);
    const wrong = msg(T.AUTHORIZE, { ...authorizeBody(ROOT1, TAG_INSTALL, img.session, ID), tag: new Uint8Array(16).fill(7) }, ID);
    expect(request(rig, conc, wrong)?.body.code).toBe(E.AUTH_BAD_TAG);
    expect(request(rig, conc, authorize(img, TAG_INSTALL, ROOT2, 7002))?.body.code).toBe(E.AUTH_BAD_TAG); // 7002's valid tag
    expect(request(rig, conc, authorize(img, TAG_INSTALL, ROOT1, 7002))?.body.code).toBe(E.AUTH_BAD_TAG); // our key, another id
    // a concentrator making up a tag from the link key it holds
    const forged = msg(T.AUTHORIZE, authorizeBody(linkKeys(ROOT1).down, TAG_INSTALL, img.session, ID), ID);
    expect(request(rig, conc, forged)?.body.code).toBe(E.AUTH_BAD_TAG);
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), ID))?.body.code).toBe(E.AUTH_NO_TAG);
    expect(stored(m)).toBe(before);
    // with the right tag: authorised, then the control is taken
    expect(request(rig, conc, authorize(img, TAG_INSTALL, ROOT1))?.type).toBe(T.ACK);
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), ID))?.type).toBe(T.ACK);
    expect(m.meter.receiver.state()).toBe(1);
    // a tag for one image does not cover another (other digest, same id and version)
    const other = makeImage(2000, 200, { imageId: 21, version: 2, seed: 99 });
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(other.session), ID))?.body.code).toBe(E.AUTH_NO_TAG);
  });

  it("refuses a downgrade (84) even with an install tag, and takes it with a rollback tag", () => {
    const { rig, conc, m } = setup(3);
    const old = makeImage(2000, 200, { imageId: 22, version: 2 });
    expect(request(rig, conc, authorize(old, TAG_INSTALL, ROOT1))?.type).toBe(T.ACK);
    const before = stored(m);
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(old.session), ID))?.body.code).toBe(E.UPDATE_NOT_NEWER);
    expect(stored(m)).toBe(before);
    expect(request(rig, conc, authorize(old, TAG_ROLLBACK, ROOT1))?.type).toBe(T.ACK);
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(old.session), ID))?.type).toBe(T.ACK);
  });

  it("refuses an oversized image (83), one for another board (80), and ignores a block index beyond N", () => {
    const { rig, conc, m } = setup();
    const big = makeImage(m.board.maxImageSize + 200, 200, { imageId: 23, version: 2 });
    const alien = makeImage(2000, 200, { imageId: 24, version: 2, board: 3 });
    for (const [img, code] of [[big, E.UPDATE_TOO_LARGE], [alien, E.UPDATE_WRONG_BOARD]] as const) {
      expect(request(rig, conc, authorize(img, TAG_INSTALL, ROOT1))?.type).toBe(T.ACK);
      const before = stored(m);
      expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), ID))?.body.code).toBe(code);
      expect(stored(m)).toBe(before);
    }
    const img = makeImage(2000, 200, { imageId: 25, version: 2 });
    expect(request(rig, conc, authorize(img, TAG_INSTALL, ROOT1))?.type).toBe(T.ACK);
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), ID))?.type).toBe(T.ACK);
    const before = stored(m);
    post(rig, conc, msg(T.DATA_BLOCK, { imageId: 25, index: img.session.blockCount, data: new Uint8Array(200) }, 0xffffffff, 2));
    post(rig, conc, msg(T.DATA_BLOCK, { imageId: 25, index: 60000, data: new Uint8Array(200) }, 0xffffffff, 2));
    drain(rig, conc);
    expect(m.meter.receiver.stats.corrupt).toBe(2);
    expect(m.meter.receiver.received()).toBe(0);
    expect(stored(m)).toBe(before);
  });

  it("never activates an image with a tampered block: the digest fails (86), the program stays", () => {
    const { rig, conc, m } = setup();
    const img = makeImage(2000, 200, { imageId: 26, version: 2 });
    expect(request(rig, conc, authorize(img, TAG_INSTALL, ROOT1))?.type).toBe(T.ACK);
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), ID))?.type).toBe(T.ACK);
    for (let i = 0; i < img.session.blockCount; i++) {
      const b = blockMsg(img, i, 0xffffffff, 2) as Msg;
      if (i === 4) { b.body.data = b.body.data.slice(); b.body.data[17] ^= 0x40; }
      post(rig, conc, b);
    }
    drain(rig, conc);
    expect(m.meter.receiver.stats.stored).toBe(img.session.blockCount);
    expect(m.meter.receiver.state()).toBe(4); // verification failed
    const app = Buffer.from(m.flash.read(m.board.regions.app!.addr, m.board.regions.app!.size)).toString("hex");
    expect(request(rig, conc, msg(T.ACTIVATE, { imageId: 26, at: 0 }, ID))?.body.code).toBe(E.UPDATE_NOT_VERIFIED);
    rig.clock.advance(10_000);
    expect(Buffer.from(m.flash.read(m.board.regions.app!.addr, m.board.regions.app!.size)).toString("hex")).toBe(app);
  });
  it("takes the coded method's broadcasts only as far as they are safe: a broadcast authorisation with a wrong tag changes nothing, its own starts the download", () => {
    const { rig, conc, m } = setup();
    const img = makeImage(2000, 200, { imageId: 31, version: 2 });
    const s = img.session;
    const before = stored(m);
    const list = (root: Uint8Array) => msg(0x51, { ...bound(s), auths: [
      authorizeBody(ROOT2, TAG_INSTALL, s, 7002),
      authorizeBody(root, TAG_INSTALL, s, ID),
    ] }, 0xffffffff, 2);
    const select = msg(0x50, { imageId: s.imageId, ids: [{ id: ID }] }, 0xffffffff, 2);
    const control = () => msg(T.UPDATE_CONTROL, controlBody(s), 0xffffffff, 2);
    // a stranger's list: the tag for this meter made with another meter's key
    post(rig, conc, list(ROOT2));
    post(rig, conc, select);
    post(rig, conc, control());
    drain(rig, conc);
    expect(m.meter.receiver.session()).toBeNull();
    expect(stored(m)).toBe(before);
    // the head-end's list: the broadcast control now starts the download, no unicast needed
    post(rig, conc, list(ROOT1));
    post(rig, conc, control());
    drain(rig, conc);
    expect(m.meter.receiver.session()?.imageId).toBe(31);
    // a broadcast carries no counter: the same list again, or a genuine rollback tag sent to
    // everyone, writes nothing (a replay cannot wear the flash or replace the authorisation)
    const log = () => Buffer.from(m.flash.read(m.board.regions.state!.addr, m.board.regions.state!.size)).toString("hex");
    const kept = log();
    post(rig, conc, list(ROOT1));
    post(rig, conc, msg(0x51, { ...bound(s), auths: [
      authorizeBody(ROOT1, TAG_ROLLBACK, s, ID)] }, 0xffffffff, 2));
    drain(rig, conc);
    expect(log()).toBe(kept);
    // its deficit, asked by the group query, in the clear of any counter: the whole image
    post(rig, conc, msg(0x4e, { imageId: 31, who: 1, slots: 1, slotMs: 50 }, 0xffffffff, 2));
    drain(rig, conc);
    const d = conc.inbox.map((x) => x.msg).reverse().find((x) => x.type === 0x4f);
    expect(d && [d.body.state, d.body.received, d.body.needed]).toEqual([1, 0, 10]);
  });
});
