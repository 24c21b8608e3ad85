/*
 * The campaign's block key (docs/security.md, broadcast blocks): the head-end wraps it for
 * each meter under that meter's authorisation key and binds it in the tag; the meter's
 * real authoriser unwraps it, keeps it with the authorisation in its state log (mock
 * flash), and its link then takes a broadcast DATA_BLOCK or REPAIR_BLOCK only signed under
 * it, as the concentrator's link signs them.
 */
import { describe, expect, it } from "vitest";
import { MockFlash } from "../../../hal/mock/flash";
import { hostNative } from "../../../hal/mock/native";
import { recordLog } from "../../../firmware/common/records";
import { keyedAuthoriser } from "../../../firmware/meter/authorise";
import { STATE_SLOT } from "../../../firmware/common/update-image";
import { hexKey, hmacSha256, TAG_INSTALL } from "../../../firmware/common/hmac";
import { Err } from "../../../firmware/common/errors";
import { authorisationFor } from "../../../tools/keys/keyfile";
import { concentratorAuth } from "../../../firmware/link/auth";
import { decodeMsg, encodeMsg, newMsg, setMsg } from "../../../firmware/protocol/codec";
import { P, T } from "../../../firmware/protocol/catalogue";
import { makeImage } from "../../harness/scripted-concentrator";

const K = "00112233445566778899aabbccddeeff", ROOT = hexKey(K, 16)!, ID = 4242;
const g = { base: 0, size: 65536, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 64 }] };
const BK = Uint8Array.from({ length: 16 }, (_, i) => 0x30 + i), OTHER = Uint8Array.from(BK, (b) => b ^ 0xff);
const s2 = makeImage(2000, 200, { imageId: 9, version: 2 }).session;

function meter() {
  const flash = new MockFlash(g);
  const journal = () => recordLog(flash, { addr: 0, size: 4096 }, STATE_SLOT, true, hostNative);
  return { flash, boot: () => keyedAuthoriser(K, hostNative, journal(), ID) };
}

/** A broadcast frame of `type` from a concentrator whose campaign block key is `key` (null: none). */
function broadcast(type: number, key: Uint8Array | null, mode: number = P.TO_ALL) {
  const c = concentratorAuth(hmacSha256(hostNative, 242)!, () => null, () => -1, 1, { load: () => 0, save: () => {} });
  c.blocks(key);
  const body = type === T.DISCOVER ? { nonce: 1, slots: 4, slotMs: 100, unregistered: 0 } : { imageId: 9, index: 3, data: new Uint8Array(200).fill(3) };
  const m = setMsg(newMsg(), type, 1, P.BROADCAST_ID, mode, mode === P.TO_GROUP ? 5 : P.BROADCAST_ID, body);
  expect(c.seal(m)).toBe(0);
  const buf = new Uint8Array(242), n = encodeMsg(m, buf);
  if (m.flags & P.FLAG_AUTH) c.sign(buf, n);
  return { m, buf, n };
}

/** What the meter's link says of a frame. */
function open(a: ReturnType<ReturnType<typeof meter>["boot"]>, f: { buf: Uint8Array; n: number }): number {
  const rx = newMsg();
  expect(decodeMsg(f.buf, f.n, rx)).toBe(0);
  return a.link!.open(rx, f.buf, f.n);
}

describe("a campaign's block key", () => {
  it("the concentrator signs only broadcast blocks under it, counter 0, and spends none of its own counter", () => {
    for (const type of [T.DATA_BLOCK, T.REPAIR_BLOCK]) {
      const f = broadcast(type, BK);
      expect([f.m.flags & P.FLAG_AUTH, f.m.counter]).toEqual([P.FLAG_AUTH, 0]);
      expect(broadcast(type, null).m.flags & P.FLAG_AUTH).toBe(0);
    }
    expect(broadcast(T.DISCOVER, BK).m.flags & P.FLAG_AUTH).toBe(0);
  });

  it("a keyed meter takes broadcast or group blocks only under the key of its newest authorisation: none before it, refused unsigned, under another key or altered", () => {
    const { boot } = meter();
    const a = boot();
    expect(open(a, broadcast(T.DATA_BLOCK, BK))).toBe(Err.AUTH_REQUIRED); // no authorisation yet: no key
    const au = authorisationFor(ROOT, TAG_INSTALL, s2, ID, BK);
    expect(a.authorise(s2, TAG_INSTALL, au.tag, au.key)).toBe(0);
    for (const type of [T.DATA_BLOCK, T.REPAIR_BLOCK]) {
      expect(open(a, broadcast(type, BK))).toBe(0);
      expect(open(a, broadcast(type, BK, P.TO_GROUP))).toBe(0);
      expect(open(a, broadcast(type, null))).toBe(Err.AUTH_REQUIRED);
      expect(open(a, broadcast(type, OTHER))).toBe(Err.AUTH_BAD_MAC);
      const f = broadcast(type, BK);
      f.buf[30] ^= 1; // one bit of the payload
      expect(open(a, f)).toBe(Err.AUTH_BAD_MAC);
    }
    // the other broadcasts a keyed meter takes are unchanged
    expect(open(a, broadcast(T.DISCOVER, null))).toBe(0);
  });

  it("a wrapped key altered on the way, or a tag over another key, is refused (143) and nothing is written; the key taken survives a restart", () => {
    const { flash, boot } = meter();
    let a = boot();
    const au = authorisationFor(ROOT, TAG_INSTALL, s2, ID, BK);
    const writes = flash.counts.writes;
    const bent = Uint8Array.from(au.key, (b, i) => (i === 5 ? b ^ 0x10 : b));
    expect(a.authorise(s2, TAG_INSTALL, au.tag, bent)).toBe(Err.AUTH_BAD_TAG);
    // the tag made for another key, with this key wrapped: the tag binds the key
    const otherTag = authorisationFor(ROOT, TAG_INSTALL, s2, ID, OTHER).tag;
    expect(a.authorise(s2, TAG_INSTALL, otherTag, au.key)).toBe(Err.AUTH_BAD_TAG);
    expect(a.authorise(s2, TAG_INSTALL, au.tag, new Uint8Array(15))).toBe(Err.BAD_ARG);
    expect(flash.counts.writes).toBe(writes);
    expect([a.highest!(), a.grant(s2)]).toEqual([0, 0]);
    expect(a.authorise(s2, TAG_INSTALL, au.tag, au.key)).toBe(0);
    a = boot(); // restarted: the authorisation, its key and its version come back from the state log
    expect([a.highest!(), a.grant(s2)]).toEqual([2, TAG_INSTALL]);
    expect(open(a, broadcast(T.DATA_BLOCK, BK))).toBe(0);
    expect(open(a, broadcast(T.DATA_BLOCK, OTHER))).toBe(Err.AUTH_BAD_MAC);
    // a newer campaign's authorisation replaces the key: the older campaign's blocks are refused
    const s3 = makeImage(2000, 200, { imageId: 10, version: 3 }).session;
    const au3 = authorisationFor(ROOT, TAG_INSTALL, s3, ID, OTHER);
    expect(a.authorise(s3, TAG_INSTALL, au3.tag, au3.key)).toBe(0);
    expect(open(a, broadcast(T.DATA_BLOCK, BK))).toBe(Err.AUTH_BAD_MAC);
    expect(open(a, broadcast(T.DATA_BLOCK, OTHER))).toBe(0);
    expect(a.highest!()).toBe(3);
  });
});
