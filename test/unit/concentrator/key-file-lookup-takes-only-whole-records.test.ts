import { describe, expect, it } from "vitest";
import { keyFile, KEY_RECORD } from "../../../firmware/concentrator/keystore";
import { latin1 } from "../../../hal/mock/native";

/** A key file of sorted ids, each record id u32 | down 16 | up 16, the keys filled with the id's low byte + 1 and + 2. */
function file(ids: number[]): string {
  const b = new Uint8Array(ids.length * KEY_RECORD);
  ids.forEach((id, k) => {
    const o = k * KEY_RECORD;
    b[o] = id & 0xff; b[o + 1] = (id >>> 8) & 0xff; b[o + 2] = (id >>> 16) & 0xff; b[o + 3] = id >>> 24;
    b.fill((id + 1) & 0xff, o + 4, o + 20);
    b.fill((id + 2) & 0xff, o + 20, o + 36);
  });
  return latin1(b);
}

/** Storage.read over `text`: undefined from the end on. */
const reader = (text: () => string | undefined) => (o: number, n: number) => { const t = text(); return t !== undefined && o < t.length ? t.substr(o, n) : undefined; };

describe("the key file lookup (found by npm run fuzz, target keystore)", () => {
  it("finds the keys of whole records only when the file is shorter than the size it was opened with", () => {
    let text: string | undefined = file([3, 7, 9, 12]);
    const lookup = keyFile(reader(() => text), text.length);
    // the file is replaced by one cut in the middle of its third record
    text = text.slice(0, 2 * KEY_RECORD + 10);
    expect(lookup(7)?.down[0]).toBe(8);
    expect(lookup(3)?.up[0]).toBe(5);
    // before: the cut record's id read whole, and its missing key bytes as zeros
    expect(lookup(9)).toBeNull();
    expect(lookup(12)).toBeNull();
  });

  it("finds nothing in a file cut to an id without its keys, or gone", () => {
    let text: string | undefined = file([5]);
    const lookup = keyFile(reader(() => text), text.length);
    text = text.slice(0, 6);
    expect(lookup(5)).toBeNull();
    text = undefined;
    expect(lookup(5)).toBeNull();
  });
});
