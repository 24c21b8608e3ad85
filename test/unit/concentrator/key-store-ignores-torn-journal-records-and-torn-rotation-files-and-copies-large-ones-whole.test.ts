/*
 * The concentrator's key store (firmware/concentrator/keystore.ts) where a review found it
 * weak: a journal record torn by a cut and followed by the next one must not name another
 * meter; a rotation file whose adoption a cut tore is not taken; the store's own files are
 * never adopted (ml.rot adopted from itself emptied a rotation of more than 16 meters); a
 * rotation of many meters is copied and folded in parts; drop ends a rotation with
 * unfinished meters on their old keys.
 */
import { describe, expect, it } from "vitest";
import { MockStorage } from "../../../hal/mock/storage";
import { PowerCut } from "../../../hal/mock/flash";
import { latin1 } from "../../../hal/mock/native";
import { KEY_FILE, KEY_NEW, keyStore, ROT_FILE, ROT_JOURNAL, ROT_RECORD } from "../../../firmware/concentrator/keystore";
import { commitRotation, concentratorKeyFile, KEY_FORMAT, linkKeys, rotationFile, type KeyFile } from "../../../tools/keys/keyfile";
import { Err } from "../../../firmware/common/errors";
import { hexKey } from "../../../firmware/common/hmac";

const hex = (n: number) => n.toString(16).padStart(2, "0");
function keyFile(ids: number[]): KeyFile {
  return { format: KEY_FORMAT, head: "00".repeat(16), meters: Object.fromEntries(ids.map((id) => [String(id), Array.from({ length: 16 }, (_, i) => hex((id * 7 + i) & 0xff)).join("")])) };
}
let r = 1;
const random = (k: number) => Uint8Array.from({ length: k }, () => (r = (r * 31 + 7) & 0xff));
const same = (a: Uint8Array | undefined, b: Uint8Array) => Buffer.from(a ?? []).equals(Buffer.from(b));

describe("the concentrator's key store", () => {
  it("a journal record torn by a cut, then the next one: neither names another meter", () => {
    const ids = [1, 13, 113];
    const k = keyFile(ids), st = new MockStorage(1 << 20, 4);
    st.write(KEY_FILE, latin1(concentratorKeyFile(k)));
    st.write("rot.up", latin1(rotationFile(k, ids, random).file));
    let ks = keyStore(st);
    expect(ks.adopt("rot.up")).toBe(0);
    expect(ks.count()).toBe(3);
    // meter 1's record torn after its first character ("\n1"), then meter 13's whole
    const rec = "\n1 1;";
    st.files.set(ROT_JOURNAL, rec.slice(0, 2));
    expect(ks.done(1)).toBe(0);
    expect(st.read(ROT_JOURNAL)).toBe("\n1\n13 1;");
    ks = keyStore(st);
    expect([0, 1, 2].map((i) => ks.isDone(i))).toEqual([false, true, false]);
  });

  it("a rotation file torn while it was adopted is not taken; the store's own files are never adopted", () => {
    const ids = [5, 6, 7];
    const k = keyFile(ids), st = new MockStorage(1 << 20, 9);
    st.write(KEY_FILE, latin1(concentratorKeyFile(k)));
    const file = latin1(rotationFile(k, ids, random).file);
    st.write("rot.up", file);
    const ks = keyStore(st);
    for (const name of [ROT_FILE, KEY_FILE, KEY_NEW, ROT_JOURNAL]) expect(ks.adopt(name)).toBe(Err.BAD_ARG);
    // cut in the middle of the trailer, and in the middle of the last record: each start drops it
    for (const cutAt of [st.count + 2, st.count + 1]) {
      const s2 = new MockStorage(1 << 20, cutAt);
      for (const [n, t] of st.files) s2.files.set(n, t);
      s2.cutAt(s2.count + (cutAt - st.count));
      expect(() => keyStore(s2).adopt("rot.up")).toThrow(PowerCut);
      s2.powerOn();
      expect(keyStore(s2).count()).toBe(0);
      expect(s2.files.has(ROT_FILE)).toBe(false);
    }
  });

  it("a rotation of 40 meters is adopted, used and folded into the key file in parts; drop ends one with unfinished meters", () => {
    const ids = Array.from({ length: 40 }, (_, i) => 100 + i);
    const k = keyFile(ids), st = new MockStorage(1 << 20, 5);
    st.write(KEY_FILE, latin1(concentratorKeyFile(k)));
    const rot = rotationFile(k, ids, random);
    st.write("rot.up", latin1(rot.file));
    let ks = keyStore(st);
    expect(ks.adopt("rot.up")).toBe(0);
    expect(ks.count()).toBe(40);
    expect(st.read(ROT_FILE)!.slice(0, 40 * ROT_RECORD)).toBe(latin1(rot.file));
    const next = (id: number) => linkKeys(hexKey(rot.keys.next![String(id)].key, 16)!);
    // all but the last two finish: their new keys are used from then on, through a restart
    for (let i = 0; i < 38; i++) expect(ks.done(i)).toBe(0);
    ks = keyStore(st);
    expect(same(ks.keys(100)?.down, next(100).down)).toBe(true);
    expect(same(ks.keys(139)?.down, linkKeys(hexKey(k.meters["139"], 16)!).down)).toBe(true);
    // not every meter finished: nothing folded yet; another rotation is refused
    expect(ks.compact()).toBe(0);
    expect(st.read(KEY_FILE)).toBe(latin1(concentratorKeyFile(k)));
    st.write("rot2.up", latin1(rotationFile(commitRotation(rot.keys, ids.slice(0, 38)), [100], random).file));
    expect(ks.adopt("rot2.up")).toBe(Err.ROTATION_UNFINISHED);
    expect(ks.count()).toBe(40);
    // dropped: the 38 finished go into the key file (written in parts), the two others keep their old keys
    expect(ks.adopt("rot2.up", true)).toBe(0);
    expect(st.read(KEY_FILE)).toBe(latin1(concentratorKeyFile(commitRotation(rot.keys, ids.slice(0, 38)))));
    expect([KEY_NEW, ROT_JOURNAL].map((f) => st.files.has(f))).toEqual([false, false]);
    expect(ks.count()).toBe(1);
    expect(ks.id(0)).toBe(100);
    expect(same(ks.keys(139)?.down, linkKeys(hexKey(k.meters["139"], 16)!).down)).toBe(true);
    expect(same(ks.keys(101)?.down, next(101).down)).toBe(true);
  });
});
