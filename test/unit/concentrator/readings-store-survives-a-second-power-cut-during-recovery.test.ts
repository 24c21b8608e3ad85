/*
 * The concentrator's readings store (firmware/concentrator/store.ts, Storage files) through
 * a power cut at every Storage operation of a history of readings and acknowledgements,
 * then a second cut in the recovery: the start that reads the files back, the reading the
 * first cut interrupted (the collector asks for it again) and the readings and
 * acknowledgements after it. After the second cut every reading whose append returned, in
 * either run, is still there at its position unless acknowledged and freed; nothing else
 * but the two readings being appended when the power went; the newest acknowledgement or
 * one before it is kept; and the store goes on. (Storage hides the flash, so the noisy
 * flash modes have no meaning here: the interpreter's own Storage code meets those.)
 */
import { describe, expect, it } from "vitest";
import { MockStorage } from "../../../hal/mock/storage";
import { PowerCut } from "../../../hal/mock/flash";
import { Rng } from "../../../hal/mock/rng";
import { readingStore } from "../../../firmware/concentrator/store";

const line = (k: number) => `${1000 + (k % 7)},1-0:1.8.0,${k},30,0,${1_790_000_000 + k},0`;
type Store = ReturnType<typeof readingStore>;
const all = (s: Store) => { const out: [number, string][] = []; s.since(0, 1e6, (l, p) => out.push([p, l])); return out; };
const open = (st: MockStorage) => readingStore(st, 40, 5, () => {});

/** Readings `from` to `to` - 1, an acknowledgement every 37, until done or the power goes; what was stored, where. */
function history(st: MockStorage, from: number, to: number, seen: { stored: Map<number, string>; acked: number; at: number }): void {
  const s = open(st);
  try {
    for (let k = from; k < to; k++) {
      seen.at = k;
      s.append(line(k));
      seen.stored.set(s.end() - 1, line(k));
      if (k % 37 === 36 && s.ack(s.end() - 10) === 0) seen.acked = s.acked();
    }
    seen.at = to;
  } catch (e) {
    expect(e).toBeInstanceOf(PowerCut);
  }
}

/** The files as the power left them, in a Storage whose operations count from 0 again. */
function copy(st: MockStorage, seed: number): MockStorage {
  const c = new MockStorage(st.capacity, seed);
  for (const [n, t] of st.files) c.files.set(n, t);
  return c;
}

describe("the readings store through a second power cut during recovery", () => {
  it("a cut at every Storage operation, then a second in the recovery, keeps every reading stored at its position and the newest acknowledgement or one before", () => {
    const probe = new MockStorage();
    history(probe, 0, 260, { stored: new Map(), acked: 0, at: 0 });
    const total = probe.count;
    const rng = new Rng(0x57ae);
    let first = 0, second = 0;
    for (let cut = 0; cut < total; cut++) {
      const st = new MockStorage(1 << 20, cut + 7);
      st.cutAt(cut);
      const one = { stored: new Map<number, string>(), acked: 0, at: 0 };
      history(st, 0, 260, one);
      expect(st.off).toBe(true);
      st.powerOn();
      first++;
      // the recovery: the interrupted reading again and up to 40 more; its operations, uncut
      const end = Math.min(260, one.at + 41);
      const clean = copy(st, 1);
      history(clean, one.at, end, { stored: new Map(), acked: 0, at: 0 });
      const ops = clean.count;
      if (!ops) continue;
      // second cuts: the first operation of the recovery and four more at random
      for (const j of new Set([0, rng.int(ops), rng.int(ops), rng.int(ops), rng.int(ops)])) {
        const what = `cut at operation ${cut} (reading ${one.at}), then at operation ${j} of the recovery`;
        const b = copy(st, 1000 + j);
        b.cutAt(j);
        const two = { stored: new Map<number, string>(), acked: 0, at: 0 };
        history(b, one.at, end, two);
        expect(b.off, what).toBe(true);
        b.powerOn();
        const after = open(b);
        const kept = new Map(all(after));
        for (const [p, l] of [...one.stored, ...two.stored]) {
          if (p >= after.start()) expect(kept.get(p), `${what}: position ${p}`).toBe(l);
        }
        const extra = [...kept.keys()].filter((p) => !one.stored.has(p) && !two.stored.has(p));
        expect(extra.length, what).toBeLessThanOrEqual(2);
        expect(after.acked(), what).toBeGreaterThanOrEqual(Math.max(one.acked, two.acked));
        after.append(line(999));
        expect(all(after).pop(), what).toEqual([after.end() - 1, line(999)]);
        second++;
      }
    }
    console.log(`readings store sweep: ${total} Storage operations, ${first} first cuts, ${second} second cuts in the recovery`);
    expect(first).toBe(total);
  });
});
