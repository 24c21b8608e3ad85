import { describe, expect, it } from "vitest";
import { downloadFrames, originalCost } from "../../bench/memory";
import { decodeMsg, newMsg } from "../../firmware/protocol/codec";

describe("npm run bench:memory, its host side", () => {
  it("re-costs names and strings of an E.dumpVariables() dump for the Original's variables", () => {
    const dump = [
      "ref,size,flags,name,links...",
      '1,1,1,Object,2,',
      '2,1,31,"addr",3,', // a 4-character name: one block on both
      '3,1,10,Number 5,',
      '4,1,35,"prototype",5,', // 9 characters: 2 blocks on the Original (4 + 9)
      '5,1,5,Object,',
      '6,2,40,String "abcdefghijklmnop...",', // 2 blocks here: up to 25 characters, 3 on the Original (8 + 9 + 9)
      '7,3,49,String "",', // a flat string of 2 blocks of 17 bytes: 34 bytes, 3 blocks of 13 on the Original
      "END",
    ].join("\n");
    expect(originalCost(dump)).toEqual({ here: 10, original: 1 + 1 + 1 + 2 + 1 + 3 + 4 });
  });

  it("builds an update control, every block (14 of them late), and two status queries for one meter", () => {
    const f = downloadFrames(3002, 1, true);
    const types: number[] = [], blocks: number[] = [];
    for (let o = 0; o < f.length;) {
      const n = f[o], m = newMsg();
      expect(decodeMsg(new Uint8Array(f.subarray(o + 1, o + 1 + n)), n, m)).toBe(0);
      types.push(m.type);
      if (m.type === 0x42) blocks.push(m.body.index);
      else expect(m.dst).toBe(3002);
      o += 1 + n;
    }
    expect(types[0]).toBe(0x41);
    expect(types.filter((t) => t === 0x43).length).toBe(2);
    expect([...blocks].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(blocks.slice(86)).toEqual([3, 10, 17, 24, 31, 38, 45, 52, 59, 66, 73, 80, 87, 94]);
  });
});
