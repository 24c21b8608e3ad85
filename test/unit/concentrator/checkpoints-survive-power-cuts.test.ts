import { describe, expect, it } from "vitest";
import { CUT_MODES, MockFlash, PowerCut } from "../../../hal/mock/flash";
import { hostNative } from "../../../hal/mock/native";
import { checkpoints } from "../../../firmware/concentrator/checkpoint";
import { boardFlash, profileRegions } from "../../harness/power-cut-boards";

const g = { base: 0, size: 16384, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 16 }] };
const region = { addr: 4096, size: 8192 };
const body = (v: number, n = 200) => Uint8Array.from({ length: n }, (_, i) => (v + i) & 0xff);

describe("campaign checkpoints", () => {
  it("load the newest snapshot, also after reopening, and refuse oversize or unaligned ones", () => {
    const f = new MockFlash(g);
    const c = checkpoints(f, region, hostNative);
    expect(c.capacity).toBe(4096 - 16);
    expect(c.load()).toBeNull();
    c.save(body(1));
    c.save(body(2));
    c.save(body(3, 400));
    expect([...checkpoints(f, region, hostNative).load()!]).toEqual([...body(3, 400)]);
    const ops = f.ops;
    expect(c.save(new Uint8Array(4096))).toBe(35);
    expect(c.save(new Uint8Array(6))).toBe(1);
    expect(f.ops).toBe(ops);
  });

  it("after a cut at any flash operation of a save, load the previous or the new snapshot, never a mix", () => {
    const ref = new MockFlash(g);
    checkpoints(ref, region, hostNative).save(body(1, 3000));
    const before = ref.ops;
    checkpoints(ref, region, hostNative).save(body(2, 3000));
    const ops = ref.ops - before;
    for (let k = 0; k < ops; k++) {
      for (const mode of CUT_MODES) {
        const f = new MockFlash(g);
        checkpoints(f, region, hostNative).save(body(1, 3000));
        f.planCut({ op: f.ops + k, mode, fraction: 0.5, seed: k });
        try { checkpoints(f, region, hostNative).save(body(2, 3000)); } catch (e) { expect(e).toBeInstanceOf(PowerCut); }
        f.reboot();
        const got = [...checkpoints(f, region, hostNative).load()!];
        const ok = JSON.stringify(got) === JSON.stringify([...body(1, 3000)]) || JSON.stringify(got) === JSON.stringify([...body(2, 3000)]);
        expect(ok, `cut ${mode} at op ${k}`).toBe(true);
      }
    }
  });

  // the concentrators' store regions (the Linux build's 1 KiB pages, the ESP32's 4 KiB
  // sectors, the WiFi's 16 KiB STM32F4 sectors) and the Original's 2 KiB pages (no
  // concentrator: its profile region, four pages, stands in)
  const BOARDS = [
    boardFlash("LINUX", "Linux build, 1 KiB pages", profileRegions("LINUX", ["store"])),
    boardFlash("ESP32", "ESP32, 4 KiB sectors", profileRegions("ESP32", ["store"])),
    boardFlash("ESPRUINOWIFI", "WiFi, 16 KiB STM32F4 sectors", profileRegions("ESPRUINOWIFI", ["store"])),
    boardFlash("ESPRUINOBOARD", "Original, 2 KiB pages", { store: profileRegions("ESPRUINOBOARD", ["profile"]).profile }),
  ];
  const same = (a: Uint8Array | null, b: Uint8Array) => !!a && a.length === b.length && a.every((x, i) => x === b[i]);

  for (const b of BOARDS) {
    it(`a cut at any operation of a save in any way, then a second cut at any operation of the next save in any way, loads the newest or the previous snapshot (${b.name})`, () => {
      const store = b.r.store!;
      const [b1, b2, b3, b4] = [1, 2, 3, 4].map((v) => body(v, 3000));
      const f = new MockFlash(b.g);
      checkpoints(f, store, hostNative).save(b1);
      const s0 = f.snapshot(), o0 = f.ops;
      checkpoints(f, store, hostNative).save(b2);
      const total = f.ops - o0;
      let first = 0, second = 0;
      for (let k = 0; k < total; k++) {
        for (const mode of CUT_MODES) {
          const what = `${b.name}: cut ${mode} at op ${k}`;
          f.restore(s0);
          f.planCut({ op: f.ops + k, mode, fraction: 0.5, seed: k });
          try { checkpoints(f, store, hostNative).save(b2); } catch (e) { expect(e).toBeInstanceOf(PowerCut); }
          expect(f.powerLost, what).toBe(true);
          f.reboot();
          const l1 = checkpoints(f, store, hostNative).load();
          expect(same(l1, b1) || same(l1, b2), what).toBe(true);
          first++;
          // restarted, the concentrator goes on and saves its next checkpoint: cut that save too
          const s1 = f.snapshot(), o1 = f.ops;
          expect(checkpoints(f, store, hostNative).save(b3)).toBe(0);
          const rops = f.ops - o1;
          for (let k2 = 0; k2 < rops; k2++) {
            for (const mode2 of CUT_MODES) {
              const what2 = `${what}, then ${mode2} at op ${k2} of the next save`;
              f.restore(s1);
              f.planCut({ op: f.ops + k2, mode: mode2, fraction: 0.3, seed: 1000 + k2 });
              try { checkpoints(f, store, hostNative).save(b3); } catch (e) { expect(e).toBeInstanceOf(PowerCut); }
              expect(f.powerLost, what2).toBe(true);
              f.reboot();
              const l2 = checkpoints(f, store, hostNative).load();
              expect(same(l2, l1!) || same(l2, b3), what2).toBe(true);
              // and the one after is kept
              expect(checkpoints(f, store, hostNative).save(b4), what2).toBe(0);
              expect(same(checkpoints(f, store, hostNative).load(), b4), what2).toBe(true);
              second++;
            }
          }
        }
      }
      console.log(`checkpoint sweep, ${b.name}: ${total} flash operations a save, ${first} first cuts, ${second} second cuts`);
      expect(first).toBe(total * CUT_MODES.length);
    });
  }
});
