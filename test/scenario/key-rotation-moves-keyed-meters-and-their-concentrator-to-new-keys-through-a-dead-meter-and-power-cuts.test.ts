/*
 * Key rotation end to end on the simulated line (docs/security.md, Key rotation): the
 * head-end's rotation file (tools/keys/keyfile.ts rotationFile, as `npm run keys -- rotate`
 * makes it) goes into the real concentrator's Storage (hal/mock/storage.ts), rotate() moves
 * each real keyed meter to its new key, and the concentrator's key file follows. A meter
 * that is off finishes on a later rotate(); a power cut at every Storage operation of the
 * concentrator's side loses no meter: after the restart rotate() finishes and every meter
 * answers a readings round.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { LinkRig, bootConcentrator, bootMeter, lineFor, type ConcNode } from "../../bench/rig";
import { commitRotation, concentratorKeyFile, KEY_FORMAT, rotationFile, type KeyFile } from "../../tools/keys/keyfile";
import { KEY_FILE, KEY_NEW, keyStore, ROT_FILE, ROT_JOURNAL } from "../../firmware/concentrator/keystore";
import { consoleApi } from "../../firmware/concentrator/console";
import { Err } from "../../firmware/common/errors";
import { hostNative, latin1 } from "../../hal/mock/native";
import { MockStorage } from "../../hal/mock/storage";
import { MockFlash, PowerCut } from "../../hal/mock/flash";
import { recordLog } from "../../firmware/common/records";
import { Kr } from "../../firmware/meter/authorise";
import { loadProfile } from "../../tools/profiles/profiles";

const IDS = [5001, 5002, 5003];
const LINUX = loadProfile("LINUX");

function network(seed: number) {
  const rig = new LinkRig("st7580", lineFor("st7580", seed, { defaults: { loss: 0 } }));
  const keys: KeyFile = { format: KEY_FORMAT, head: "00".repeat(16), meters: Object.fromEntries(IDS.map((id) => [String(id), createHash("sha256").update(`rotation ${id}`).digest("hex").slice(0, 32)])) };
  for (const id of IDS) bootMeter(rig, `m${id}`, id, { key: keys.meters[String(id)] });
  const storage = new MockStorage(1 << 20, seed);
  storage.write(KEY_FILE, latin1(concentratorKeyFile(keys)));
  let hw = 0;
  let n = 0;
  /** The concentrator (again, after a cut: same flash and Storage). */
  const boot = (keep?: ConcNode) => {
    storage.powerOn();
    const ks = keyStore(storage);
    const conc = bootConcentrator(rig, `conc${n++}`, IDS, keep ?? ({ flash: new MockFlash(LINUX.flash), storage } as ConcNode), {}, { keys: ks.keys, rotation: ks, counter: { load: () => hw, save: (x) => { hw = x; } } });
    rig.clock.advance(3000);
    const out: string[] = [];
    return { conc, ks, out, ml: consoleApi(conc.ctx, hostNative, 1, () => undefined, (l) => out.push(l)) };
  };
  const wait = (pred: () => boolean, ms = 600_000, step = 200) => { const end = rig.clock.now() + ms; while (!pred() && rig.clock.now() < end) rig.clock.advance(step); return pred(); };
  /** Meter id's key generation in use, from its keys region. */
  const gen = (id: number) => {
    const r = recordLog(rig.meters.get(id)!.flash, LINUX.regions.keys!, Kr.SLOT, true, hostNative).read(Kr.CUR);
    return r ? new DataView(r.buffer, r.byteOffset).getUint32(0, true) : 0;
  };
  /** A readings round of every meter: how many answered. */
  const round = (c: ReturnType<typeof boot>) => {
    c.out.length = 0;
    expect(c.ml.read()).toBe(0);
    expect(wait(() => c.out.some((l) => l.startsWith("meterline: readings round")))).toBe(true);
    return +/(\d+) collected/.exec(c.out.find((l) => l.startsWith("meterline: readings round"))!)![1];
  };
  let r = 0;
  const random = (k: number) => Uint8Array.from({ length: k }, () => (r = (r * 7 + 13) & 0xff));
  return { rig, keys, storage, boot, wait, gen, round, random };
}

describe("key rotation on the line", () => {
  it("moves every keyed meter and the concentrator's key file to the new keys, finishes a meter that was off later, and refuses bad files", () => {
    const net = network(71);
    const c = net.boot();
    expect(c.conc.ctx.registry.count()).toBe(3);
    expect(net.round(c)).toBe(3);
    const { keys: next, file } = rotationFile(net.keys, IDS, net.random);
    // a bad file: refused, nothing changed
    net.storage.write("bad.rot", latin1(file.subarray(0, 71)));
    expect(c.ml.rotate("bad.rot")).toBe(Err.BAD_ARG);
    expect(c.out.pop()).toBe("meterline: rotate: bad.rot is not a rotation file of meters keyed here (npm run keys -- rotate) (E1)");
    expect(net.storage.read(ROT_FILE)).toBeUndefined();
    // meter 5003 is off
    net.rig.meters.get(5003)!.powerOff();
    net.storage.write("ml.new", latin1(file));
    expect(c.ml.rotate("ml.new")).toBe(0);
    expect(c.ml.rotate("ml.new")).toBe(Err.CAMPAIGN_ABORTED);
    expect(net.wait(() => c.out.some((l) => l.startsWith("meterline: key rotation")))).toBe(true);
    expect(c.out.pop()).toBe("meterline: key rotation: 2 meters on their new keys: 5001,5002; unfinished (rotate() again): 5003 E94");
    expect(IDS.map(net.gen)).toEqual([1, 1, 0]);
    // the rotation stays for 5003 with what finished journaled; the key file changes when it all finished
    expect(net.storage.read(KEY_FILE)).toBe(latin1(concentratorKeyFile(net.keys)));
    expect(net.storage.read(ROT_FILE)!.slice(0, file.length)).toBe(latin1(file));
    expect(net.storage.read(ROT_JOURNAL)).toBe("\n5001 1;\n5002 1;");
    expect(net.round(c)).toBe(2);
    // another rotation waits for it
    expect(c.ml.rotate("ml.new")).toBe(Err.ROTATION_UNFINISHED);
    // 5003 back: the rotation goes on and finishes; every meter answers under its new keys
    bootMeter(net.rig, "m5003", 5003, { key: net.keys.meters["5003"], flash: net.rig.meters.get(5003)!.flash });
    c.out.length = 0;
    expect(c.ml.rotate()).toBe(0);
    expect(net.wait(() => c.out.some((l) => l.startsWith("meterline: key rotation")))).toBe(true);
    // the line names every meter of the rotation on its new keys: what the head-end commits
    expect(c.out.pop()).toBe("meterline: key rotation: 3 meters on their new keys: 5001,5002,5003");
    expect(IDS.map(net.gen)).toEqual([1, 1, 1]);
    expect(net.storage.read(KEY_FILE)).toBe(latin1(concentratorKeyFile(commitRotation(next, IDS))));
    expect([ROT_FILE, ROT_JOURNAL, KEY_NEW].map((f) => net.storage.files.has(f))).toEqual([false, false, false]);
    expect(net.round(c)).toBe(3);
    // and after a restart of the concentrator
    c.conc.powerOff();
    const c2 = net.boot(c.conc);
    expect(net.round(c2)).toBe(3);
    // a second generation: made from the committed key file, under the new keys
    const second = rotationFile(commitRotation(next, IDS), IDS, net.random);
    net.storage.write("ml.new", latin1(second.file));
    expect(c2.ml.rotate("ml.new")).toBe(0);
    expect(net.wait(() => c2.out.some((l) => l.startsWith("meterline: key rotation")))).toBe(true);
    expect(IDS.map(net.gen)).toEqual([2, 2, 2]);
    expect(net.round(c2)).toBe(3);
  }, 300_000);

  it("a concentrator restarted after a meter took its new key and before it journaled it: the meter is silent to rounds until rotate() finds it", () => {
    const net = network(73);
    const c = net.boot();
    net.storage.write("rot.up", latin1(rotationFile(net.keys, IDS, net.random).file));
    expect(c.ml.rotate("rot.up")).toBe(0);
    // the last meter commits (its keys region says so) a moment before its acknowledgement is journaled
    expect(net.wait(() => net.gen(5003) === 1, 600_000, 5)).toBe(true);
    expect(net.storage.read(ROT_JOURNAL)).toBe("\n5001 1;\n5002 1;");
    c.conc.powerOff();
    const c2 = net.boot(c.conc);
    expect(net.round(c2)).toBe(2);
    c2.out.length = 0;
    expect(c2.ml.rotate()).toBe(0);
    expect(net.wait(() => c2.out.some((l) => l.startsWith("meterline: key rotation")))).toBe(true);
    // (5001 and 5002 finished before the restart: named too, for the commit)
    expect(c2.out.pop()).toBe("meterline: key rotation: 3 meters on their new keys: 5001,5002,5003");
    expect(net.round(c2)).toBe(3);
    expect([ROT_FILE, ROT_JOURNAL, KEY_NEW].map((f) => net.storage.files.has(f))).toEqual([false, false, false]);
  }, 300_000);

  it("a power cut at every Storage operation of the concentrator's rotation loses no meter: after the restart rotate() finishes and every meter answers", () => {
    // the operations of a whole rotation (adoption, journal, compaction), counted on a run without a cut
    const probe = network(72);
    const pc = probe.boot();
    const { file } = rotationFile(probe.keys, IDS, probe.random);
    probe.storage.write("ml.new", latin1(file));
    const from = probe.storage.count;
    expect(pc.ml.rotate("ml.new")).toBe(0);
    expect(probe.wait(() => pc.out.some((l) => l.startsWith("meterline: key rotation")))).toBe(true);
    const ops = probe.storage.count - from;
    expect(ops).toBeGreaterThan(6);
    let cuts = 0;
    for (let k = 0; k < ops; k++) {
      const net = network(72);
      const c = net.boot();
      net.storage.write("ml.new", latin1(rotationFile(net.keys, IDS, net.random).file));
      net.storage.cutAt(net.storage.count + k);
      try {
        expect(c.ml.rotate("ml.new")).toBe(0);
        net.wait(() => net.storage.off || c.out.some((l) => l.startsWith("meterline: key rotation")));
      } catch (e) {
        expect(e).toBeInstanceOf(PowerCut);
      }
      expect(net.storage.off, `op ${k}`).toBe(true);
      c.conc.powerOff();
      // the restart finds what the cut left; the rotation is adopted again if it never was, or goes on
      const c2 = net.boot(c.conc);
      c2.out.length = 0;
      const again = c2.ks.count() ? c2.ml.rotate() : c2.ml.rotate("ml.new");
      expect(again, `op ${k}: ${c2.out.join(" | ")}`).toBe(0);
      expect(net.wait(() => c2.out.some((l) => l.startsWith("meterline: key rotation")))).toBe(true);
      expect(c2.out.find((l) => l.startsWith("meterline: key rotation")), `op ${k}`).not.toMatch(/unfinished/);
      expect(IDS.map(net.gen), `op ${k}`).toEqual([1, 1, 1]);
      expect(net.round(c2), `op ${k}`).toBe(3);
      expect([ROT_FILE, ROT_JOURNAL, KEY_NEW].map((f) => net.storage.files.has(f)), `op ${k}`).toEqual([false, false, false]);
      cuts++;
    }
    expect(cuts).toBe(ops);
  }, 600_000);
});




