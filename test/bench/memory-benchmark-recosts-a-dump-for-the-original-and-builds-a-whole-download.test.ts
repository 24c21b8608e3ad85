import { describe, expect, it } from "vitest";
import { checkReplies, downloadFrames, originalCost, REPLIES } from "../../bench/memory";
import { decodeMsg, encodeMsg, newMsg, setMsg } from "../../firmware/protocol/codec";

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

  it("builds the requests, a refused control and a whole download, one reply expected per unicast request", () => {
    const f = downloadFrames(3002, 1, true);
    const types: number[] = [], blocks: number[] = [];
    for (let o = 0; o < f.length;) {
      const n = f[o], m = newMsg();
      expect(decodeMsg(new Uint8Array(f.subarray(o + 1, o + 1 + n)), n, m)).toBe(0);
      if (m.type === 0x42) blocks.push(m.body.index);
      else { expect(m.dst).toBe(3002); types.push(m.type); }
      o += 1 + n;
    }
    expect(types).toEqual([0x22, 0x20, 0x10, 0x10, 0x24, 0x25, 0x27, 0x28, 0x4a, 0x41, 0x41, 0x43, 0x43, 0x4a]);
    expect(types.length).toBe(REPLIES.length);
    expect([...blocks].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(blocks.slice(86)).toEqual([3, 10, 17, 24, 31, 38, 45, 52, 59, 66, 73, 80, 87, 94]);
  });

  it("checks the meter's replies by type and error code, and names what differs", () => {
    const frame = (type: number, body: object): Uint8Array => {
      const b = new Uint8Array(242);
      const n = encodeMsg(setMsg(newMsg(), type, 1, 3002, 0, 0xffffffff, body), b);
      return b.subarray(0, n);
    };
    const ack = frame(0x2a, { refType: 0x22, refSeq: 1 });
    const refused = frame(0x2b, { refType: 0x41, refSeq: 1, code: 81 });
    expect(checkReplies([ack, refused])).toEqual([
      `2 replies, expected ${REPLIES.length}`,
      "reply 1: 0x2a, expected 0x23",
      "reply 2: 0x2b E81, expected 0x21",
      ...REPLIES.slice(2).map((_, i) => `reply ${i + 3}: missing`),
    ]);
  });
});
