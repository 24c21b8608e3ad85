import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { BODIES_FILE, bodiesSource, layoutFields } from "../../../tools/protocol/bodies-gen";
import { layoutOf, NAMES, P, T } from "../../../firmware/protocol/catalogue";
import { decodeMsg, encodeMsg, newMsg, setMsg } from "../../../firmware/protocol/codec";
import { bodyOf, typed, type Bodies } from "../../../tools/protocol/typed";

/** A sample value of each kind, small enough for every layout to fit a frame. */
function sample(kind: string, record?: string): unknown {
  switch (kind) {
    case "O": return new Uint8Array([1, 0, 1, 8, 0, 255]);
    case "K": return new Uint8Array(16).fill(7);
    case "D": return new Uint8Array(32).fill(9);
    case "V": case "R": return new Uint8Array([1, 2, 3, 4]);
    case "L": return [Object.fromEntries(layoutFields(record!).map((f) => [f.name, sample(f.kind)]))];
    default: return 3;
  }
}

describe("the host's message body types", () => {
  it("are the file npm run bodies writes from the catalogue today", () => {
    expect(readFileSync(BODIES_FILE, "utf8")).toBe(bodiesSource());
  });

  it("name exactly the fields the codec decodes, for every message type", () => {
    const out = new Uint8Array(P.MAX_FRAME), m = newMsg();
    for (const t of Object.keys(NAMES).map(Number)) {
      const fields = layoutFields(layoutOf(t)!);
      const body = Object.fromEntries(fields.map((f) => [f.name, sample(f.kind, f.record)]));
      const n = encodeMsg(setMsg(newMsg(), t, 1, 2, P.TO_METER, 3, body), out);
      expect(n, NAMES[t]).toBeGreaterThan(0);
      expect(decodeMsg(out, n, m), NAMES[t]).toBe(0);
      expect(Object.keys(m.body).sort(), NAMES[t]).toEqual(fields.map((f) => f.name).sort());
      for (const f of fields) {
        const v = m.body[f.name];
        if (f.kind === "L") expect(Array.isArray(v), `${NAMES[t]}.${f.name}`).toBe(true);
        else if ("OKDVR".includes(f.kind)) expect(v, `${NAMES[t]}.${f.name}`).toBeInstanceOf(Uint8Array);
        else expect(typeof v, `${NAMES[t]}.${f.name}`).toBe("number");
      }
    }
  });

  it("narrow a decoded message's body by its type", () => {
    const out = new Uint8Array(P.MAX_FRAME), m = newMsg();
    const sent: Bodies[T.DATA_BLOCK] = { imageId: 7, index: 12, data: new Uint8Array([5, 6, 7, 8]) };
    decodeMsg(out, encodeMsg(setMsg(newMsg(), T.DATA_BLOCK, 1, 2, P.TO_ALL, P.BROADCAST_ID, sent), out), m);
    const tm = typed(m);
    if (tm.type !== T.DATA_BLOCK) throw new Error("not a DATA_BLOCK");
    expect(tm.body.index).toBe(12);
    expect([...tm.body.data]).toEqual([5, 6, 7, 8]);
    // @ts-expect-error a field DATA_BLOCK does not have: the typecheck (npm test) fails if this compiles
    expect(tm.body.blockCount).toBeUndefined();
    expect(bodyOf(m, T.DATA_BLOCK)!.imageId).toBe(7);
    expect(bodyOf(m, T.REPAIR_BLOCK)).toBeNull();
  });
});
