/*
 * The head-end's authorisation tags (firmware/common/hmac.ts tagInput) on the meter's real
 * authoriser, with its state log in mock flash: a rollback tag is good only from the floor
 * it names, so a newer campaign's confirmation retires it (hardening issue, finding 3),
 * and a control is granted only when it matches every field the tag binds (finding 1).
 */
import { describe, expect, it } from "vitest";
import { MockFlash } from "../../../hal/mock/flash";
import { hostNative } from "../../../hal/mock/native";
import { recordLog } from "../../../firmware/common/records";
import { keyedAuthoriser } from "../../../firmware/meter/authorise";
import { STATE_SLOT } from "../../../firmware/common/update-image";
import { hexKey, TAG_INSTALL, TAG_ROLLBACK } from "../../../firmware/common/hmac";
import { Err } from "../../../firmware/common/errors";
import { authorisationFor, type Authorisation } from "../../../tools/keys/keyfile";
import type { Authoriser } from "../../../firmware/meter/authorise";
import type { TagImage } from "../../../firmware/common/hmac";
import { makeImage } from "../../harness/scripted-concentrator";

const K = "00112233445566778899aabbccddeeff", ROOT = hexKey(K, 16)!, ID = 4242;
/** A campaign's block key, as the head-end's key file would give it. */
const BK = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const au = (kind: number, s: TagImage, floor = 0): Authorisation => authorisationFor(ROOT, kind, s, ID, BK, floor);
const take = (a: Authoriser, s: TagImage, x: Authorisation) => a.authorise(s, x.kind, x.tag, x.key);
const g = { base: 0, size: 65536, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 64 }] };

function meter() {
  const flash = new MockFlash(g);
  const journal = () => recordLog(flash, { addr: 0, size: 4096 }, STATE_SLOT, true, hostNative);
  return { flash, boot: () => keyedAuthoriser(K, hostNative, journal(), ID) };
}

describe("authorisation tags", () => {
  it("a rollback tag made for floor 3 is refused once the floor is 5 (a meter on v5 is not taken back to v2 by an old tag); one for floor 5 is taken, and retired when v6 confirms", () => {
    const { boot } = meter();
    let a = boot();
    a.confirmed(3);
    const v2 = makeImage(2000, 200, { imageId: 9, version: 2 }).session;
    const old = au(TAG_ROLLBACK, v2, 3);
    expect(take(a, v2, old)).toBe(0); // good while the floor is 3
    expect(a.grant(v2)).toBe(TAG_ROLLBACK);
    a.confirmed(5); // a newer campaign ran: the meter is on v5
    expect(a.grant(v2)).toBe(0); // the stored rollback no longer holds
    a = boot(); // and after a restart
    expect(a.floor()).toBe(5);
    expect(take(a, v2, old)).toBe(Err.AUTH_BAD_TAG); // the old tag replayed
    expect(a.grant(v2)).toBe(0);
    const now = au(TAG_ROLLBACK, v2, 5);
    expect(take(a, v2, now)).toBe(0);
    expect(a.grant(v2)).toBe(TAG_ROLLBACK);
    a.confirmed(6);
    expect(a.grant(v2)).toBe(0);
    expect(take(a, v2, now)).toBe(Err.AUTH_BAD_TAG);
  });

  it("a control is granted only when id, version, board, size, block size and digest all match the tag's", () => {
    const { boot } = meter();
    const a = boot();
    const s = makeImage(2000, 200, { imageId: 11, version: 4 }).session;
    expect(take(a, s, au(TAG_INSTALL, s))).toBe(0);
    expect(a.grant(s)).toBe(TAG_INSTALL);
    // the forged controls the review sent: the authorised image's id, version and digest, another layout
    const variants = [
      { blockSize: 100, blockCount: 20 }, { size: 1999 }, { board: s.board + 1 }, { version: 5 }, { imageId: 12 },
      { digest: Uint8Array.from(s.digest, (b, i) => (i === 0 ? b ^ 1 : b)) },
    ];
    for (const v of variants) expect(a.grant({ ...s, ...v })).toBe(0);
    // a tag is refused for any field changed after the head-end signed
    for (const v of variants) expect(take(a, { ...s, ...v }, au(TAG_INSTALL, s))).toBe(Err.AUTH_BAD_TAG);
    // a time is not bound: the same image at another activation time is the same grant
    expect(a.grant({ ...s, activateAt: 12345 })).toBe(TAG_INSTALL);
  });
});
