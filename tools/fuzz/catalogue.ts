/*
 * Messages for the fuzz targets, made from the catalogue itself: every type layoutOf()
 * knows (0..255 asked, so a type added there is fuzzed without a list to keep), its body
 * generated field by field from the layout string through the codec's own walker
 * (eachField), with variable parts (V, R, L) sized so the frame fits with its trailer.
 * Encoded with encodeMsg; the offsets of the header's version, type, flags and mode bytes
 * and of every length and count byte come with each frame, for the mutations that move them.
 */
import fc from "fast-check";
import { layoutOf, P } from "../../firmware/protocol/catalogue";
import { eachField, encodeMsg, kindWidth, newMsg, type Msg } from "../../firmware/protocol/codec";

export interface Field { name: string; kind: string; record?: Field[] }
export interface MsgType { type: number; fields: Field[] }

export function fieldsOf(spec: string): Field[] {
  const out: Field[] = [];
  eachField(spec, (name, kind, s0, s1) => {
    out.push(kind === "L" ? { name, kind, record: fieldsOf(spec.substring(s0, s1)) } : { name, kind });
    return true;
  });
  return out;
}

/** Every type with a layout, read from layoutOf. */
export const CATALOGUE: MsgType[] = Array.from({ length: 256 }, (_, t) => t)
  .filter((t) => layoutOf(t) !== null)
  .map((t) => ({ type: t, fields: fieldsOf(layoutOf(t)!) }));

export const u32 = fc.integer({ min: 0, max: 0xffffffff });

function scalarArb(kind: string): fc.Arbitrary<unknown> {
  switch (kind) {
    case "B": return fc.integer({ min: 0, max: 255 });
    case "b": return fc.integer({ min: -128, max: 127 });
    case "H": return fc.integer({ min: 0, max: 0xffff });
    case "I": return u32;
    case "i": return fc.integer({ min: -0x80000000, max: 0x7fffffff });
  }
  const n = kindWidth(kind);
  if (!n) throw new Error(`layout kind ${kind} is not a fixed-width one`);
  return fc.uint8Array({ minLength: n, maxLength: n });
}

const recordWidth = (r: Field[]) => r.reduce((w, f) => w + kindWidth(f.kind), 0);

/** Bytes the fixed parts take: scalars, and the length or count byte of V and L. */
function fixedSize(fields: Field[]): number {
  return fields.reduce((n, f) => n + (f.kind === "V" || f.kind === "L" ? 1 : kindWidth(f.kind)), 0);
}

/** A body whose encoding fits `room` bytes: the variable parts share what the fixed ones leave. */
export function bodyArb(fields: Field[], room: number): fc.Arbitrary<Record<string, unknown>> {
  const vars = fields.filter((f) => f.kind === "V" || f.kind === "R" || f.kind === "L").length || 1;
  const share = Math.max(0, Math.floor((room - fixedSize(fields)) / vars));
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) {
    if (f.kind === "V") parts[f.name] = fc.uint8Array({ maxLength: Math.min(255, share), size: "max" });
    else if (f.kind === "R") parts[f.name] = fc.uint8Array({ maxLength: share, size: "max" });
    else if (f.kind === "L") {
      const rec: Record<string, fc.Arbitrary<unknown>> = {};
      for (const r of f.record!) rec[r.name] = scalarArb(r.kind);
      parts[f.name] = fc.array(fc.record(rec), { maxLength: Math.min(255, Math.floor(share / recordWidth(f.record!))), size: "max" });
    } else parts[f.name] = scalarArb(f.kind);
  }
  return fc.record(parts);
}

/** A message of type `def`, any header (flags 0..255: with and without the trailer), fitting one frame. */
export function msgArb(def: MsgType): fc.Arbitrary<Msg> {
  return fc.record({
    flags: fc.integer({ min: 0, max: 255 }), seq: fc.integer({ min: 0, max: 0xffff }), src: u32,
    mode: fc.integer({ min: 0, max: 2 }), dst: u32, counter: u32, mac: fc.uint8Array({ minLength: P.MAC, maxLength: P.MAC }),
    body: bodyArb(def.fields, P.MAX_FRAME - P.HEADER - P.TRAILER),
  }).map((h) => {
    const m = newMsg();
    m.type = def.type; m.flags = h.flags; m.seq = h.seq; m.src = h.src; m.mode = h.mode; m.dst = h.dst; m.body = h.body;
    if (h.flags & P.FLAG_AUTH) { m.counter = h.counter; m.mac = h.mac; }
    return m;
  });
}

/** A message of any type in the catalogue, each type as likely as another. */
export const anyMsg: fc.Arbitrary<Msg> = fc.oneof(...CATALOGUE.map(msgArb));

export interface Frame {
  bytes: Uint8Array;
  /** Offsets of the bytes the `field` mutation moves: version, type, flags, mode, every V length and L count. */
  fields: number[];
}

/** Offsets of the header bytes worth moving, and of each length and count byte of `m`'s body. */
export function fieldOffsets(m: Msg): number[] {
  const out = [0, 1, 2, 9];
  let o = P.HEADER;
  for (const f of fieldsOf(layoutOf(m.type) ?? "")) {
    const v = m.body[f.name];
    if (f.kind === "V") { out.push(o); o += 1 + v.length; }
    else if (f.kind === "R") o += v.length;
    else if (f.kind === "L") { out.push(o); o += 1 + v.length * recordWidth(f.record!); }
    else o += kindWidth(f.kind);
  }
  return out;
}

/** `m` encoded; throws when the encoder refuses it (a generator out of step with the codec). */
export function encodeFrame(m: Msg): Frame {
  const out = new Uint8Array(P.MAX_FRAME);
  const n = encodeMsg(m, out);
  if (n < 0) throw new Error(`the generator made a message of type 0x${m.type.toString(16)} the encoder refuses (${-n})`);
  return { bytes: out.slice(0, n), fields: fieldOffsets(m) };
}

/** A copy of `m` with its own body object (lists copied), for targets that change a message before encoding it. */
export function copyMsg(m: Msg): Msg {
  const c = newMsg();
  Object.assign(c, m);
  c.body = { ...m.body };
  return c;
}
