import { describe, expect, it } from "vitest";
import { parse } from "acorn";
import {
  bufferCapacity, checkReplies, codedImage, codedShape, downloadFrames, driveFile, driveFrames, driveScript, originalCost, repairData, REPLIES,
} from "../../bench/memory";
import { blockOf } from "../../bench/image";
import { decodeMsg, encodeMsg, newMsg, setMsg, type Msg } from "../../firmware/protocol/codec";
import { repairSets } from "../../firmware/protocol/repair";
import { blockLength } from "../../firmware/common/update-image";
import { decoder, FREE } from "../../firmware/meter/decoder";
import { loadProfile } from "../../tools/profiles/profiles";

const decode = (f: Uint8Array): Msg => {
  const m = newMsg();
  expect(decodeMsg(f, f.length, m)).toBe(0);
  return m;
};

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

  it("takes the string types from the dump itself: on the 2,756-variable build strings start at 37, so 36 is a name there, not a string", () => {
    const dump = [
      "ref,size,flags,name,links...",
      '1,1,37,String "",', // one-block strings: their type less their length gives the base, 37
      '2,1,43,String ".boot0",',
      '3,1,36,"abcdefgh",4,', // an 8-character name (type 36 on this build): 2 blocks on the Original (4 + 9)
      '4,1,10,Number 5,',
      '5,3,50,String "",', // the flat string (base + 13): 34 bytes, 3 blocks of 13
      "END",
    ].join("\n");
    // counted as strings from 36 it would be 2 + 2 + 2 + 1 + 3 (the name a one-block string, the flat string as-is)
    expect(originalCost(dump)).toEqual({ here: 7, original: 1 + 1 + 2 + 1 + 4 });
  });

  it("builds the requests, a refused control and a whole download, one reply expected per unicast request", () => {
    const types: number[] = [], blocks: number[] = [];
    for (const f of downloadFrames(3002, 1, true)) {
      expect(f.length).toBeLessThanOrEqual(242);
      const m = decode(f);
      if (m.type === 0x42) blocks.push(m.body.index);
      else { expect(m.dst).toBe(3002); types.push(m.type); }
    }
    expect(types).toEqual([0x22, 0x20, 0x10, 0x10, 0x24, 0x25, 0x27, 0x28, 0x4a, 0x41, 0x41, 0x43, 0x43, 0x4a]);
    expect(types.length).toBe(REPLIES.length);
    expect([...blocks].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(blocks.slice(86)).toEqual([3, 10, 17, 24, 31, 38, 45, 52, 59, 66, 73, 80, 87, 94]);
  });

  it("sizes the coded downloads on the LINUX buffer region: 24 rows of 140 spare slots, and exactly the Original's 8", () => {
    const p = loadProfile("LINUX"), rows8 = loadProfile("ESPRUINOBOARD").repairRows;
    expect([p.repairRows, rows8]).toEqual([24, 8]);
    const wide = codedShape(p, 78, 3, 200, 100);
    expect([wide.blocks, wide.spare, wide.rows, wide.missing.length]).toEqual([100, 140, 24, 24]);
    expect(new Set(wide.missing).size).toBe(24);
    const cap = bufferCapacity(p, 204); // 4 slots of 204 + 4 per 1 KiB unit, 48 units
    expect(cap).toBe(192);
    const tight = codedShape(p, 79, 4, 204, cap - rows8);
    expect([tight.blocks, tight.spare, tight.rows, tight.missing.length]).toEqual([184, 8, 8, 8]);
    expect(tight.size).toBeLessThanOrEqual(p.maxImageSize);
    expect(Math.ceil(tight.size / tight.blockSize)).toBe(tight.blocks);
    // no spare slot, or an image over the board's limit: refused here rather than by the meter
    expect(() => codedShape(p, 80, 5, 204, cap)).toThrow(/spare/);
    expect(() => codedShape(p, 80, 5, 200, 230)).toThrow(/at most/);
  });

  for (const [name, blockSize, blocks] of [["24 rows", 200, 100], ["8 rows", 204, 184]] as const) {
    it(`builds a coded download (${name}) after the plain one: select, broadcast control, blocks with the rows' count missing, group query, repair blocks up to full rank, status query`, () => {
      const p = loadProfile("LINUX");
      const c = codedShape(p, 78, 3, blockSize, blocks);
      const d = driveFrames(3002, p, [c]);
      const plain = downloadFrames(3002, p.code, true);
      expect(d.parts).toEqual([plain.length, d.frames.length - plain.length]);
      expect(d.frames.slice(0, plain.length)).toEqual(plain);
      const msgs = d.frames.slice(plain.length).map((f) => { expect(f.length).toBeLessThanOrEqual(242); return decode(f); });
      // the sequence numbers run on from the plain part
      expect(msgs[0].seq).toBe(plain.length + 1);
      const [select, control] = msgs;
      expect([select.type, select.mode, select.body.imageId, select.body.ids.map((x: { id: number }) => x.id)]).toEqual([0x50, 2, 78, [3001, 3002, 3003]]);
      const img = codedImage(c, p.code, true);
      expect([control.type, control.mode, control.body.start, control.body.blockCount, control.body.blockSize, control.body.size]).toEqual([0x41, 2, 1, blocks, blockSize, c.size]);
      expect(control.body.digest).toEqual(img.session.digest);
      const data = msgs.filter((m) => m.type === 0x42);
      expect(data.map((m) => m.body.index)).toEqual(Array.from({ length: blocks }, (_, i) => i).filter((i) => !c.missing.includes(i)));
      for (const m of data) expect(m.body.data).toEqual(blockOf(img, m.body.index));
      const gq = msgs.findIndex((m) => m.type === 0x4e);
      expect(gq).toBe(2 + data.length);
      expect([msgs[gq].body.who, msgs[gq].body.slots]).toEqual([1, 1]);
      const repairs = msgs.slice(gq + 1, -1);
      expect(repairs.every((m) => m.type === 0x4d && m.mode === 2 && m.body.data.length === blockSize)).toBe(true);
      expect(repairs.length).toBe(d.repairs[0].sent);
      expect(d.repairs[0].kept).toBe(c.rows);
      expect([msgs[msgs.length - 1].type, msgs[msgs.length - 1].mode]).toEqual([0x43, 0]);
      // each repair block is the XOR of its set, zero-padded
      const sets = repairSets(blocks);
      for (const m of repairs) {
        const want = new Uint8Array(blockSize), n = sets.set(m.body.index);
        for (let k = 0; k < n; k++) {
          const b = blockOf(img, sets.out[k]);
          for (let i = 0; i < b.length; i++) want[i] ^= b[i];
        }
        expect(m.body.data).toEqual(want);
        expect(repairData(img, m.body.index)).toEqual(want);
      }
      // the meter's decoder, fed what the meter receives, reaches full rank on the last one
      // and recovers the missing blocks
      const got = new Uint8Array((blocks + 7) >> 3);
      for (const m of data) got[m.body.index >> 3] |= 0x80 >> (m.body.index & 7);
      // (its slots' repair indices, as the receiver keeps them)
      const dec = decoder(blocks, blockSize, c.rows), stored: Uint8Array[] = [], ids = new Uint16Array(c.rows).fill(FREE);
      dec.rebuild(got, ids, c.rows);
      expect(dec.lacking()).toBe(c.rows);
      repairs.forEach((m, i) => {
        expect(dec.lacking()).toBeGreaterThan(0); // nothing sent after full rank
        if (dec.offer(m.body.index)) { ids[stored.length] = m.body.index; stored.push(m.body.data); dec.keep(stored.length - 1); }
        if (i === repairs.length - 1) expect(dec.lacking()).toBe(0);
      });
      const recovered = new Map<number, Uint8Array>();
      expect(dec.solve((i) => blockLength(img.session, i), (i) => blockOf(img, i), (s) => stored[s], (i, b) => { recovered.set(i, b.slice()); return 0; })).toBe(0);
      expect([...recovered.keys()].sort((a, b) => a - b)).toEqual(c.missing);
      for (const i of c.missing) expect(recovered.get(i)).toEqual(blockOf(img, i));
      // the replies: the plain part's, then the deficit (needed = missing = rows) and download complete
      expect(d.replies.slice(0, REPLIES.length)).toEqual(REPLIES);
      expect(d.replies.slice(REPLIES.length)).toEqual([
        [0x4f, undefined, { imageId: 78, state: 1, received: blocks - c.rows, needed: c.rows, room: c.rows, code: 0 }],
        [0x45, undefined, { imageId: 78, version: 3 }],
      ]);
    });
  }

  it("checks the meter's replies by type, error code and fields, and names what differs", () => {
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
      "reply 2: 0x2b E81 UPDATE_BAD_BLOCK_SIZE, expected 0x21",
      ...REPLIES.slice(2).map((_, i) => `reply ${i + 3}: missing`),
    ]);
    const deficit = frame(0x4f, { imageId: 78, state: 1, received: 77, needed: 23, room: 24, code: 0 });
    const done = frame(0x45, { imageId: 78, version: 3 });
    const want: typeof REPLIES = [[0x4f, undefined, { imageId: 78, state: 1, received: 76, needed: 24, room: 24, code: 0 }], [0x45, undefined, { imageId: 78, version: 3 }]];
    expect(checkReplies([deficit, done], want)).toEqual(["reply 1 (0x4f): received 77, expected 76", "reply 1 (0x4f): needed 23, expected 24"]);
    expect(checkReplies([frame(0x4f, { imageId: 78, state: 1, received: 76, needed: 24, room: 24, code: 0 }), done], want)).toEqual([]);
  });

  it("drive script: every global it declares starts with bm (the bundle's own globals are mangled to one or two letters)", () => {
    const ast = parse(driveScript(2, 0x1002a000), { ecmaVersion: 2020, sourceType: "script" }) as unknown as { body: { type: string; id?: { name: string }; declarations?: { id: { name: string } }[] }[] };
    const names = ast.body.flatMap((n) => n.type === "FunctionDeclaration" ? [n.id!.name] : n.type === "VariableDeclaration" ? n.declarations!.map((d) => d.id.name) : []);
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !/^bm[A-Z]/.test(n))).toEqual([]);
  });

  it("drive file: each frame after its part number and its length, in order", () => {
    const p = loadProfile("LINUX"), d = driveFrames(3002, p, [codedShape(p, 78, 3, 200, 100)]);
    const f = driveFile(d.frames, d.parts), parts: number[] = [], frames: Uint8Array[] = [];
    for (let o = 0; o < f.length; o += 2 + f[o + 1]) { parts.push(f[o]); frames.push(new Uint8Array(f.subarray(o + 2, o + 2 + f[o + 1]))); }
    expect(frames).toEqual(d.frames);
    expect(parts).toEqual(d.parts.flatMap((n, i) => Array<number>(n).fill(i)));
  });
});
