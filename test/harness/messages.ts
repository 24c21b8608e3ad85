/*
 * Host view of the protocol catalogue: the layouts as data, fast-check arbitraries for
 * every message type, and deterministic samples. Used by the protocol tests, the link
 * tests and the bench. Reads firmware/protocol/catalogue.ts through the codec's own
 * layout walker, so it cannot drift from the device code.
 */
import fc from "fast-check";
import { layoutOf, NAMES } from "../../firmware/protocol/catalogue";
import { eachField, kindWidth, newMsg, type Msg } from "../../firmware/protocol/codec";

export interface FieldDef { name: string; kind: string; record?: FieldDef[] }
export interface MessageDef { type: number; name: string; fields: FieldDef[] }

function fieldsOf(spec: string): FieldDef[] {
  const out: FieldDef[] = [];
  eachField(spec, (name, kind, s0, s1) => {
    const f: FieldDef = { name, kind };
    if (kind === "L") f.record = fieldsOf(spec.substring(s0, s1));
    out.push(f);
    return true;
  });
  return out;
}

export const MESSAGES: MessageDef[] = Object.keys(NAMES)
  .map(Number)
  .sort((a, b) => a - b)
  .map((type) => {
    const layout = layoutOf(type);
    if (layout === null) throw new Error(`message ${NAMES[type]} (0x${type.toString(16)}) has a name but no layout`);
    return { type, name: NAMES[type], fields: fieldsOf(layout) };
  });

export const byName = (name: string): MessageDef => {
  const d = MESSAGES.find((m) => m.name === name);
  if (!d) throw new Error(`no message ${name} in the catalogue`);
  return d;
};

/** Bytes a body takes with the given list counts and variable lengths. */
export function fixedBodySize(def: MessageDef): number {
  let n = 0;
  for (const f of def.fields) n += f.kind === "V" || f.kind === "L" ? 1 : kindWidth(f.kind);
  return n;
}

function scalarArb(kind: string): fc.Arbitrary<unknown> {
  switch (kind) {
    case "B": return fc.integer({ min: 0, max: 255 });
    case "b": return fc.integer({ min: -128, max: 127 });
    case "H": return fc.integer({ min: 0, max: 0xffff });
    case "I": return fc.integer({ min: 0, max: 0xffffffff });
    case "i": return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case "O": return fc.uint8Array({ minLength: 6, maxLength: 6 });
    case "K": return fc.uint8Array({ minLength: 16, maxLength: 16 });
    case "D": return fc.uint8Array({ minLength: 32, maxLength: 32 });
  }
  throw new Error(`no scalar kind ${kind}`);
}

/** A body arbitrary whose encoding fits `room` bytes (variable parts share what is left). */
export function bodyArb(def: MessageDef, room: number): fc.Arbitrary<Record<string, unknown>> {
  const left = room - fixedBodySize(def);
  const variable = def.fields.filter((f) => f.kind === "V" || f.kind === "R" || f.kind === "L").length || 1;
  const share = Math.max(0, Math.floor(left / variable));
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of def.fields) {
    if (f.kind === "V") parts[f.name] = fc.uint8Array({ maxLength: Math.min(255, share) });
    else if (f.kind === "R") parts[f.name] = fc.uint8Array({ maxLength: share });
    else if (f.kind === "L") {
      const rec: Record<string, fc.Arbitrary<unknown>> = {};
      let w = 0;
      for (const r of f.record!) { rec[r.name] = scalarArb(r.kind); w += kindWidth(r.kind); }
      parts[f.name] = fc.array(fc.record(rec), { maxLength: Math.min(255, Math.floor(share / w)) });
    } else parts[f.name] = scalarArb(f.kind);
  }
  return fc.record(parts) as fc.Arbitrary<Record<string, unknown>>;
}

export const headerArb = fc.record({
  flags: fc.integer({ min: 0, max: 255 }),
  seq: fc.integer({ min: 0, max: 0xffff }),
  src: fc.integer({ min: 0, max: 0xffffffff }),
  mode: fc.integer({ min: 0, max: 2 }),
  dst: fc.integer({ min: 0, max: 0xffffffff }),
  counter: fc.integer({ min: 0, max: 0xffffffff }),
  mac: fc.uint8Array({ minLength: 8, maxLength: 8 }),
});

/** A whole message arbitrary for one type, always within the frame limit (trailer reserved). */
export function msgArb(def: MessageDef): fc.Arbitrary<Msg> {
  return fc.tuple(headerArb, bodyArb(def, 242 - 14 - 12)).map(([h, body]) => {
    const m = newMsg();
    Object.assign(m, h, { type: def.type, body });
    if (!(m.flags & 1)) { m.counter = 0; m.mac = null; }
    return m;
  });
}

/** A deterministic sample of each type, filled from a counter (readable in failures). */
export function sampleMsg(def: MessageDef, seq: number, src = 7, dst = 1001): Msg {
  let k = seq * 31 + def.type;
  const next = (mod: number) => (k = (k * 1103515245 + 12345) >>> 0) % mod;
  const scalar = (kind: string): unknown => {
    switch (kind) {
      case "B": return next(256);
      case "b": return next(256) - 128;
      case "H": return next(0x10000);
      case "I": return next(0x7fffffff) * 2 + 1;
      case "i": return next(0x7fffffff) - 0x40000000;
      case "O": return Uint8Array.from({ length: 6 }, () => next(256));
      case "K": return Uint8Array.from({ length: 16 }, () => next(256));
      default: return Uint8Array.from({ length: 32 }, () => next(256));
    }
  };
  const body: Record<string, unknown> = {};
  for (const f of def.fields) {
    if (f.kind === "V") body[f.name] = Uint8Array.from({ length: 1 + next(20) }, () => next(256));
    else if (f.kind === "R") body[f.name] = Uint8Array.from({ length: 1 + next(150) }, () => next(256));
    else if (f.kind === "L") {
      body[f.name] = Array.from({ length: 1 + next(4) }, () => {
        const r: Record<string, unknown> = {};
        for (const x of f.record!) r[x.name] = scalar(x.kind);
        return r;
      });
    } else body[f.name] = scalar(f.kind);
  }
  const m = newMsg();
  Object.assign(m, { type: def.type, flags: 0, seq: seq & 0xffff, src, mode: 0, dst, body });
  return m;
}

/** A comparable plain form of a message (typed arrays as number arrays). */
export function plain(m: Msg): unknown {
  const conv = (v: unknown): unknown =>
    v instanceof Uint8Array ? [...v] : Array.isArray(v) ? v.map(conv) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([a, b]) => [a, conv(b)])) : v;
  return conv({ ...m });
}
