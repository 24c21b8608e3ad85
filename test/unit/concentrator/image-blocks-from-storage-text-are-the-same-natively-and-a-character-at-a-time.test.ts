import { describe, expect, it } from "vitest";
import { blocksOf } from "../../../firmware/concentrator/console";
import { hostNative, hostNativeNoSha, latin1 } from "../../../hal/host/native";
import type { Native } from "../../../hal/types";

/*
 * The console turns an image kept as Storage text into blocks (console.ts blocksOf): with the
 * native the concentrator's entry gives it (E.toUint8Array on the string's part), or a
 * character at a time where none is given. Both must give the same bytes, the last block short.
 */
describe("an image's blocks from Storage text", () => {
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37 + 11) & 0xff);
  const text = "HEAD" + latin1(bytes); // a 4-byte header before the payload, as image files have
  const without: Native = { crc32: hostNative.crc32, bytesToString: hostNative.bytesToString, sha256: null };

  it("are the payload's bytes from the offset on, the last one shorter, natively and one by one alike", () => {
    expect(hostNative.stringToBytes).toBeTypeOf("function");
    expect(without.stringToBytes).toBeUndefined();
    for (const n of [hostNative, hostNativeNoSha, without]) {
      const block = blocksOf(n, text, 4, 212);
      for (let i = 0; i < 5; i++) expect([...block(i)], `block ${i}`).toEqual([...bytes.subarray(i * 212, Math.min(1000, (i + 1) * 212))]);
      expect(block(4).length).toBe(1000 - 4 * 212);
    }
  });

  it("uses the native when there is one: it is handed each block's part of the text", () => {
    const parts: string[] = [];
    const spy: Native = { ...without, stringToBytes: (s) => { parts.push(s); return hostNative.stringToBytes!(s); } };
    const block = blocksOf(spy, text, 4, 212);
    expect([...block(1)]).toEqual([...bytes.subarray(212, 424)]);
    expect(parts).toEqual([text.substr(216, 212)]);
  });
});
