/*
 * A keyed meter's key rotation (firmware/meter/authorise.ts, docs/security.md): the head-end's
 * new root key comes wrapped under the current authorisation key (tools/keys/keyfile.ts
 * rotationFor) in CONFIG_SET KEY; the meter keeps it beside the current one in its keys
 * region (mock flash) and hears both until a command authenticates under the new one, which
 * commits it. A power cut at every flash operation of the change leaves a meter that still
 * hears the old key or the new one, and the rotation then finishes.
 */
import { describe, expect, it } from "vitest";
import { CUT_MODES, MockFlash, PowerCut } from "../../../hal/mock/flash";
import { hostNative } from "../../../hal/mock/native";
import { recordLog } from "../../../firmware/common/records";
import { keyedAuthoriser, Kr } from "../../../firmware/meter/authorise";
import { STATE_SLOT } from "../../../firmware/common/update-image";
import { hexKey, hmacSha256, TAG_INSTALL } from "../../../firmware/common/hmac";
import { Err } from "../../../firmware/common/errors";
import { authorisationFor, linkKeys, rotationFor } from "../../../tools/keys/keyfile";
import { concentratorAuth, type LinkKeys } from "../../../firmware/link/auth";
import { decodeMsg, encodeMsg, newMsg, setMsg } from "../../../firmware/protocol/codec";
import { Ev, Key, P, T } from "../../../firmware/protocol/catalogue";
import { makeImage } from "../../harness/scripted-concentrator";
import { keyRegionImage } from "../../../tools/flash/plan";
import { loadProfile } from "../../../tools/profiles/profiles";

const K0 = "00112233445566778899aabbccddeeff", ID = 4242;
const R0 = hexKey(K0, 16)!, R1 = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i), R2 = Uint8Array.from({ length: 16 }, (_, i) => 0x50 + 3 * i);
const g = { base: 0, size: 8192, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 8 }] };
const STATE = { addr: 0, size: 2048 }, KEYS = { addr: 4096, size: 2048 };

let counter = 1000;
/** A CONFIG_GET frame to the meter, sealed under `keys` by the concentrator's link, with a counter above every earlier one. */
function command(keys: LinkKeys) {
  counter += 1000;
  const start = counter;
  const c = concentratorAuth(hmacSha256(hostNative, 242)!, () => keys, () => 0, 1, { load: () => start, save: () => {} });
  const m = setMsg(newMsg(), T.CONFIG_GET, 1, P.BROADCAST_ID, P.TO_METER, ID, { key: Key.KEY });
  expect(c.seal(m)).toBe(0);
  const buf = new Uint8Array(242), n = encodeMsg(m, buf);
  c.sign(buf, n);
  return { buf, n };
}

function boot(flash: MockFlash, key: string | undefined = K0, events: number[][] = []) {
  // the metering's side, as the meter hands it over: its event log and its configuration keys (13 is the keys')
  const owner = { event: (code: number, data: number) => { events.push([code, data]); return 0; }, getSetting: (k: number) => (k === Key.HOME ? Uint8Array.of(7, 0) : null), setSetting: (k: number, _v: Uint8Array) => (k === Key.HOME ? 0 : Err.CONFIG_UNKNOWN_KEY) };
  const a = keyedAuthoriser(key, hostNative, recordLog(flash, STATE, STATE_SLOT, true, hostNative), ID, flash, KEYS, owner);
  /** What the meter's link says of a command under `keys` (or of a frame made before): 0 taken. */
  const hear = (keys: LinkKeys | { buf: Uint8Array; n: number }) => {
    const f = "buf" in keys ? keys : command(keys), rx = newMsg();
    expect(decodeMsg(f.buf, f.n, rx)).toBe(0);
    return a.link!.open(rx, f.buf, f.n);
  };
  const gens = () => { const v = owner.getSetting(Key.KEY)!; const d = new DataView(v.buffer, v.byteOffset); return [d.getUint32(0, true), d.getUint32(4, true)]; };
  return { a, hear, gens, events, owner };
}

const L0 = linkKeys(R0), L1 = linkKeys(R1), L2 = linkKeys(R2);

describe("a keyed meter's key rotation", () => {
  it("takes only the head-end's wrapped key, hears both keys until a command under the new one, then only the new one, through restarts", () => {
    const flash = new MockFlash(g);
    let m = boot(flash);
    expect(m.gens()).toEqual([0, 0]);
    expect(m.hear(L1)).toBe(Err.AUTH_BAD_MAC);
    // refused: altered tag, made for another meter, made under another key, a value of the wrong length
    const v1 = rotationFor(R0, ID, 1, R1);
    const bad = v1.slice(); bad[30] ^= 1;
    expect(m.owner.setSetting(Key.KEY, bad)).toBe(Err.AUTH_BAD_TAG);
    expect(m.owner.setSetting(Key.KEY, rotationFor(R0, ID + 1, 1, R1))).toBe(Err.AUTH_BAD_TAG);
    expect(m.owner.setSetting(Key.KEY, rotationFor(R2, ID, 1, R1))).toBe(Err.AUTH_BAD_TAG);
    expect(m.owner.setSetting(Key.KEY, v1.subarray(0, 35))).toBe(Err.CONFIG_BAD_VALUE);
    expect(m.gens()).toEqual([0, 0]);
    // the metering's other keys go on as before
    expect(Array.from(m.owner.getSetting(Key.HOME)!)).toEqual([7, 0]);
    expect(m.owner.setSetting(Key.HOME, Uint8Array.of(1, 0))).toBe(0);
    expect(m.owner.setSetting(Key.ZONE, Uint8Array.of(1, 0))).toBe(Err.CONFIG_UNKNOWN_KEY);
    // taken (CONFIG_SET KEY, as the meter hands it on): kept beside the current key; the same again writes nothing
    expect(m.owner.setSetting(Key.KEY, v1)).toBe(0);
    const ops = flash.ops;
    expect(m.owner.setSetting(Key.KEY, v1)).toBe(0);
    expect(flash.ops).toBe(ops);
    expect(m.gens()).toEqual([0, 1]);
    expect(m.hear(L0)).toBe(0);
    // a restart keeps both
    m = boot(flash);
    expect(m.gens()).toEqual([0, 1]);
    expect(m.hear(L0)).toBe(0);
    expect(m.events).toEqual([]);
    // the first command under the new key commits it: the old one is heard no more
    expect(m.hear(L1)).toBe(0);
    expect(m.events).toEqual([[Ev.CONFIG_CHANGED, Key.KEY]]);
    expect(m.gens()).toEqual([1, 0]);
    expect(m.hear(L0)).toBe(Err.AUTH_BAD_MAC);
    expect(m.hear(L1)).toBe(0);
    // the same rotation again (its acknowledgement lost): nothing to do
    expect(m.owner.setSetting(Key.KEY, v1)).toBe(0);
    expect(m.gens()).toEqual([1, 0]);
    // through a restart, with the configuration's key no longer the one in use
    m = boot(flash);
    expect(m.gens()).toEqual([1, 0]);
    expect(m.hear(L0)).toBe(Err.AUTH_BAD_MAC);
    expect(m.hear(L1)).toBe(0);
    // authorisations are the new key's now
    const s = makeImage(2000, 200, { imageId: 9, version: 2 }).session, bk = new Uint8Array(16).fill(7);
    const old = authorisationFor(R0, TAG_INSTALL, s, ID, bk), now = authorisationFor(R1, TAG_INSTALL, s, ID, bk);
    expect(m.a.authorise(s, TAG_INSTALL, old.tag, old.key)).toBe(Err.AUTH_BAD_TAG);
    expect(m.a.authorise(s, TAG_INSTALL, now.tag, now.key)).toBe(0);
    // the next generation comes under the new key; an older one is stale
    expect(m.owner.setSetting(Key.KEY, rotationFor(R0, ID, 2, R2))).toBe(Err.AUTH_BAD_TAG);
    expect(m.owner.setSetting(Key.KEY, rotationFor(R1, ID, 2, R2))).toBe(0);
    expect(m.hear(L2)).toBe(0);
    expect(m.gens()).toEqual([2, 0]);
    expect(m.owner.setSetting(Key.KEY, rotationFor(R1, ID, 1, R1))).toBe(Err.AUTH_KEY_STALE);
    expect(m.hear(L1)).toBe(Err.AUTH_BAD_MAC);
  });

  it("a recorded command under the new key, replayed with a used counter, commits nothing; a lower generation does not replace the one on its way", () => {
    const flash = new MockFlash(g);
    const m = boot(flash);
    expect(m.owner.setSetting(Key.KEY, rotationFor(R0, ID, 1, R1))).toBe(0);
    // a concentrator's command under the new key, recorded on the line and never heard by the meter
    const recorded = command(L1);
    expect(m.hear(L0)).toBe(0);
    expect(m.hear(recorded)).toBe(Err.AUTH_REPLAY);
    expect(m.gens()).toEqual([0, 1]);
    expect(m.events).toEqual([]);
    expect(m.hear(L0)).toBe(0);
    // the one on its way is generation 1: a rotation to 2 replaces it, then 1 again is stale
    expect(m.owner.setSetting(Key.KEY, rotationFor(R0, ID, 2, R2))).toBe(0);
    expect(m.gens()).toEqual([0, 2]);
    expect(m.owner.setSetting(Key.KEY, rotationFor(R0, ID, 1, R1))).toBe(Err.AUTH_KEY_STALE);
    expect(m.gens()).toEqual([0, 2]);
    expect(m.hear(L1)).toBe(Err.AUTH_BAD_MAC);
    expect(m.hear(L2)).toBe(0);
    expect(m.gens()).toEqual([2, 0]);
  });

  it("reads a key region written by provisioning, and a keyless board or a board without the region refuses a rotation", () => {
    const p = loadProfile("LINUX"), flash = new MockFlash(g);
    const image = keyRegionImage({ ...p, flash: g, regions: { ...p.regions, keys: KEYS } }, R2);
    flash.write(KEYS.addr, image.subarray(0, Kr.SLOT));
    // the region's key, not the configuration's (none given)
    const m = boot(flash, undefined);
    expect(m.a.keyed).toBe(true);
    expect(m.hear(L2)).toBe(0);
    expect(m.hear(L0)).toBe(Err.AUTH_BAD_MAC);
    const owner = { event: () => 0, getSetting: (_k: number): Uint8Array | null => null, setSetting: (_k: number, _v: Uint8Array) => Err.CONFIG_UNKNOWN_KEY };
    keyedAuthoriser(K0, hostNative, recordLog(new MockFlash(g), STATE, STATE_SLOT, true, hostNative), ID, undefined, undefined, owner);
    expect(owner.setSetting(Key.KEY, rotationFor(R0, ID, 1, R1))).toBe(Err.UNSUPPORTED);
    expect(keyedAuthoriser(undefined, hostNative, recordLog(new MockFlash(g), STATE, STATE_SLOT, true, hostNative), ID, new MockFlash(g), KEYS).keyed).toBe(false);
  });

  it("a power cut at every flash operation of a rotation leaves a meter that hears the old key or the new one, and the rotation then finishes", () => {
    const v1 = rotationFor(R0, ID, 1, R1);
    const run = (flash: MockFlash) => {
      const m = boot(flash);
      expect(m.hear(L0)).toBe(0);
      expect(m.owner.setSetting(Key.KEY, v1)).toBe(0);
      expect(m.hear(L1)).toBe(0);
      for (let i = 0; i < 40; i++) expect(m.hear(L1)).toBe(0); // counter marks: the state log turns over
    };
    const ref = new MockFlash(g);
    run(ref);
    const total = ref.ops;
    expect(total).toBeGreaterThan(6);
    let checked = 0, onlyOld = 0, both = 0, onlyNew = 0;
    for (let k = 0; k < total; k++) {
      for (const mode of CUT_MODES) {
        const flash = new MockFlash(g);
        flash.planCut({ op: k, mode, fraction: 0.5, seed: k + 1 });
        try { run(flash); } catch (e) { expect(e).toBeInstanceOf(PowerCut); }
        flash.reboot();
        // which keys the meter hears now, each asked of the same flash
        const snap = flash.snapshot();
        const old = boot(flash).hear(L0) === 0;
        flash.restore(snap);
        const now = boot(flash).hear(L1) === 0;
        flash.restore(snap);
        expect(old || now, `cut at op ${k} (${mode}): neither key`).toBe(true);
        if (old && now) both++; else if (old) onlyOld++; else onlyNew++;
        // the concentrator finishes it: the rotation again under the old key where it is heard, then a command under the new
        const m = boot(flash);
        if (old) expect(m.owner.setSetting(Key.KEY, v1)).toBe(0);
        expect(m.hear(L1)).toBe(0);
        expect(m.hear(L0)).toBe(Err.AUTH_BAD_MAC);
        const after = boot(flash);
        expect(after.gens()).toEqual([1, 0]);
        expect(after.hear(L1)).toBe(0);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
    // every state of the change was met: before the new key was kept, while both were, after the commit
    expect(onlyOld).toBeGreaterThan(0);
    expect(both).toBeGreaterThan(0);
    expect(onlyNew).toBeGreaterThan(0);
  });
});
