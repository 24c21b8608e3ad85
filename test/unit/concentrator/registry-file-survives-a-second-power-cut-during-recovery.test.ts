/*
 * The concentrator's registry file (firmware/concentrator/meter-file.ts, in Storage) through
 * a power cut at every Storage operation of a history of changes (torn appends, erases that
 * may or may not have happened: hal/mock/storage.ts), then a second cut at every operation
 * of the recovery: the start that reads the files back (and erases a torn or older one),
 * the change the first cut interrupted, learnt again, and the changes after it. After each
 * second cut the registry read back is the one before or after the change in progress.
 * (Storage hides the flash, so the noisy flash modes have no meaning here: the interpreter's
 * own Storage code meets those.)
 */
import { describe, expect, it } from "vitest";
import { registry, Rf } from "../../../firmware/concentrator/registry";
import { meterFile, METER_FILES, COMPACT_SLACK } from "../../../firmware/concentrator/meter-file";
import { MockStorage } from "../../../hal/mock/storage";
import { PowerCut } from "../../../hal/mock/flash";

type Reg = ReturnType<typeof registry>;

/** A history of changes long enough for two snapshots: one change a step (an append, or a snapshot). */
const steps: ((r: Reg) => void)[] = [];
for (let k = 0; k < 2 * (COMPACT_SLACK + 10); k++) {
  const id = 100 + (k % 10);
  steps.push(k < 10 ? (r) => { r.add(id, Rf.DISCOVERED); } : (r) => { r.setInfo(r.find(id), 1 + (k % 3), k); });
}
steps.push((r) => r.setGroup(r.find(105), 77));

const view = (x: Reg) => Array.from({ length: x.count() }, (_, i) => `${x.id(i)}:${x.flags(i)}:${x.kind(i)}:${x.version(i)}:${x.group(i)}`).join(" ");

/** A registry kept in `st`, as the concentrator keeps it (throws PowerCut when the start is cut). */
function kept(st: MockStorage): Reg {
  let f: ReturnType<typeof meterFile> | null = null;
  const r = registry(50, (i) => { f?.changed(i); });
  f = meterFile(st, r);
  return r;
}

/** The files as the power left them, in a Storage whose operations count from 0 again. */
function copy(st: MockStorage, seed: number): MockStorage {
  const c = new MockStorage(st.capacity, seed);
  for (const [n, t] of st.files) c.files.set(n, t);
  return c;
}

describe("the registry file through a second power cut during recovery", () => {
  it("a cut at every Storage operation, then a second at every operation of the start and the changes that follow, reads back the registry before or after the change in progress", () => {
    const probe = new MockStorage();
    const pr = kept(probe);
    for (const s of steps) s(pr);
    const total = probe.count;
    let first = 0, second = 0;
    for (let cut = 0; cut < total; cut++) {
      const st = new MockStorage(1 << 20, cut + 1);
      st.cutAt(cut);
      const r = kept(st);
      let k = 0;
      while (k < steps.length && !st.off) steps[k++](r);
      expect(st.off).toBe(true);
      st.powerOn();
      first++;
      // the recovery: the start, the interrupted change again, and up to seven more
      const recovery = steps.slice(k - 1, k + 7);
      const clean = copy(st, 1);
      const rr = kept(clean);
      const expected = [view(rr)];
      for (const s of recovery) { s(rr); expected.push(view(rr)); }
      const ops = clean.count;
      for (let j = 0; j < ops; j++) {
        const what = `cut at operation ${cut} (step ${k - 1}), then at operation ${j} of the recovery`;
        const b = copy(st, 1000 + j);
        b.cutAt(j);
        let at = -1; // the recovery step the second cut came in; -1: the start
        try {
          const r2 = kept(b);
          for (let i = 0; i < recovery.length && !b.off; i++) { recovery[i](r2); if (b.off) at = i; }
        } catch (e) {
          if (!(e instanceof PowerCut)) throw e;
        }
        expect(b.off, what).toBe(true);
        b.powerOn();
        const seen = view(kept(b));
        const allowed = at < 0 ? [expected[0]] : [expected[at], expected[at + 1]];
        if (!allowed.includes(seen)) throw new Error(`${what}: found "${seen.slice(0, 80)}..."`);
        // and it goes on: one more change is kept across the next restart, in one file
        const again = kept(b);
        again.setGroup(again.add(999, Rf.DISCOVERED), 5);
        const third = kept(b);
        expect(third.group(third.find(999)), what).toBe(5);
        expect([...b.files.keys()].filter((n) => METER_FILES.includes(n)).length, what).toBe(1);
        second++;
      }
    }
    console.log(`registry file sweep: ${total} Storage operations, ${first} first cuts, ${second} second cuts in the recovery`);
    expect(first).toBe(total);
  });
});
