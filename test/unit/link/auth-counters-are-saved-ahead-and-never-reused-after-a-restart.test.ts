import { describe, expect, it } from "vitest";
import { concentratorAuth, COUNTER_STEP, meterAuth } from "../../../firmware/link/auth";
import { hmacSha256 } from "../../../firmware/common/hmac";
import { hostNative } from "../../../hal/mock/native";
import { encodeMsg, decodeMsg, newMsg, setMsg } from "../../../firmware/protocol/codec";
import { keyFile, KEY_RECORD } from "../../../firmware/concentrator/keystore";
import { concentratorKeyFile, linkKeys, newKeys, rootKey } from "../../../tools/keys/keyfile";
import { latin1 } from "../../../hal/mock/native";

const h = hmacSha256(hostNative, 242)!;
const keys = { down: new Uint8Array(16).fill(1), up: new Uint8Array(16).fill(2) };
/** A meter that holds no campaign block key. */
const noBlocks = () => null;

/** A command from the concentrator side, encoded and signed, decoded as the meter would. */
function command(c: ReturnType<typeof concentratorAuth>) {
  const m = setMsg(newMsg(), 0x25, 1, 0xffffffff, 0, 42, { key: 3 });
  c.seal(m);
  const buf = new Uint8Array(242);
  const n = encodeMsg(m, buf);
  c.sign(buf, n);
  const rx = newMsg();
  expect(decodeMsg(buf, n, rx)).toBe(0);
  return { rx, buf, n };
}

describe("frame counters", () => {
  it("the concentrator saves its counter a step ahead and resumes above it after a restart", () => {
    let saved = 0;
    const store = { load: () => saved, save: (hw: number) => { saved = hw; } };
    const a = concentratorAuth(h, () => keys, () => 0, 1, store);
    const used: number[] = [];
    for (let i = 0; i < 300; i++) used.push(command(a).rx.counter);
    expect(saved).toBeGreaterThan(Math.max(...used));
    expect(saved - Math.max(...used)).toBeLessThanOrEqual(COUNTER_STEP);
    const b = concentratorAuth(h, () => keys, () => 0, 1, store); // restarted: RAM gone
    const next = command(b).rx.counter;
    expect(next).toBeGreaterThan(Math.max(...used));
  });

  it("a meter saves its mark before accepting a counter above it, and refuses everything at or below the mark after a restart", () => {
    let mark = 0, saves = 0;
    const conc = concentratorAuth(h, () => keys, () => 0, 1, { load: () => 0, save: () => {} });
    const meter = meterAuth(h, keys, mark, 0, (rx) => { mark = rx; saves++; return 0; }, noBlocks);
    const frames = [];
    for (let i = 0; i < 5; i++) {
      const f = command(conc);
      frames.push(f);
      expect(meter.open(f.rx, f.buf, f.n)).toBe(0);
    }
    expect(saves).toBe(1); // one save covers COUNTER_STEP counters
    expect(mark).toBe(1 + COUNTER_STEP);
    expect(meter.open(frames[2].rx, frames[2].buf, frames[2].n)).toBe(142); // replay
    const again = meterAuth(h, keys, mark, 0, () => 0, noBlocks); // after a restart
    expect(again.open(frames[4].rx, frames[4].buf, frames[4].n)).toBe(142);
    // a save that fails refuses the command
    const full = meterAuth(h, keys, 0, 0, () => 37, noBlocks);
    expect(full.open(frames[0].rx, frames[0].buf, frames[0].n)).toBe(37);
    // a flipped bit anywhere in header, body or counter: bad MAC
    for (const at of [1, 10, 15, frames[0].n - 9]) {
      const f = command(conc);
      f.buf[at] ^= 1;
      const rx = newMsg();
      if (decodeMsg(f.buf, f.n, rx)) continue;
      expect(meterAuth(h, keys, 0, 0, () => 0, noBlocks).open(rx, f.buf, f.n)).toBe(141);
    }
  });

  it("a meter's replies carry its own counter, saved ahead; the concentrator takes each once, and only for its newest request", () => {
    let rx = 0, tx = 0;
    const conc = concentratorAuth(h, () => keys, () => 0, 1, { load: () => 0, save: () => {} });
    const boot = () => meterAuth(h, keys, rx, tx, (r, t) => { rx = r; tx = t; return 0; }, noBlocks);
    let meter = boot();
    const reply = () => {
      const f = command(conc);
      expect(meter.open(f.rx, f.buf, f.n)).toBe(0);
      const m = setMsg(newMsg(), 0x2a, 1, 42, 0, 0xffffffff, { refType: 0x25, refSeq: 1 });
      meter.seal(m);
      const buf = new Uint8Array(64);
      const n = encodeMsg(m, buf);
      meter.sign(buf, n);
      const r = newMsg();
      expect(decodeMsg(buf, n, r)).toBe(0);
      return { r, buf, n };
    };
    const a = reply();
    expect(a.r.counter).toBe(1);
    expect(tx).toBe(1 + COUNTER_STEP); // saved ahead before the first use
    expect(conc.open(a.r, a.buf, a.n)).toBe(0);
    expect(conc.open(a.r, a.buf, a.n)).toBe(142); // the same reply again
    const b = reply(), c = reply();
    expect(conc.open(b.r, b.buf, b.n)).toBe(141); // bound to an older request: no longer verifies
    expect(conc.open(c.r, c.buf, c.n)).toBe(0);
    // the meter restarts: it refuses the concentrator's counter, and says where its mark is
    meter = boot();
    const stale = command(conc);
    expect(meter.open(stale.rx, stale.buf, stale.n)).toBe(142);
    // the same error in the clear (anyone can send it) changes nothing
    const clear = setMsg(newMsg(), 0x2b, 1, 42, 0, 0xffffffff, { refType: 0x25, refSeq: 1, code: 142 });
    const before = conc.counter();
    expect(conc.open(clear, new Uint8Array(0), 0)).toBe(140);
    expect(conc.counter()).toBe(before);
    // the meter's own, signed and bound to the stale command, spends none of its counters
    const txBefore = tx;
    const err = setMsg(newMsg(), 0x2b, 1, 42, 0, 0xffffffff, { refType: 0x25, refSeq: 1, code: 142 });
    expect(meter.seal(err)).toBe(0);
    expect(err.flags & 1).toBe(1);
    expect(err.counter).toBe(rx); // its saved mark
    const eb = new Uint8Array(64), en = encodeMsg(err, eb);
    meter.sign(eb, en);
    const er = newMsg();
    expect(decodeMsg(eb, en, er)).toBe(0);
    expect(tx).toBe(txBefore);
    expect(conc.open(er, eb, en)).toBe(142); // heeded: the counter moves above the mark
    expect(conc.counter()).toBe(rx);
    expect(conc.open(er, eb, en)).toBe(142); // again: nothing more moves
    expect(conc.counter()).toBe(rx);
    const d = reply();
    expect(conc.open(er, eb, en)).toBe(141); // after the next request it no longer verifies: bound to the stale one
    // and its replies count on from the saved mark, never reusing a counter
    expect(d.r.counter).toBeGreaterThan(COUNTER_STEP);
    expect(conc.open(d.r, d.buf, d.n)).toBe(0);
  });

  it("the concentrator's key file is found by binary search, read in place", () => {
    const k = newKeys([5, 9, 1000, 77, 3]);
    const f = concentratorKeyFile(k);
    expect(f.length).toBe(5 * KEY_RECORD);
    let reads = 0;
    const lookup = keyFile((o, n) => { reads++; return latin1(f.subarray(o, o + n)); }, f.length);
    for (const id of [3, 5, 9, 77, 1000]) expect(lookup(id)).toEqual(linkKeys(rootKey(k, id)!));
    expect(lookup(6)).toBeNull();
    expect(reads).toBeLessThan(5 * 4);
  });
});
