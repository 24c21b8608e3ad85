/*
 * Byte arrays: built-ins under names the minifier shortens (the programs keep a global's or a
 * method's name whole at every use, and each alias is one top-level variable), and
 * little-endian 16- and 32-bit access, the one copy used by every record format.
 */

/**
 * Uint8Array under a name the minifier shortens: the programs make byte arrays in about 50
 * places, and the global's name is kept whole in each (about 450 bytes a meter). Write
 * `new U8(n)` and `x instanceof U8` in device code; types still say Uint8Array. The alias is
 * one top-level variable (one of the Original's variables at rest, measured by bench:memory).
 */
export const U8 = Uint8Array;
/** Uint32Array likewise (one variable at rest). */
export const U32 = Uint32Array;

/**
 * Math.floor under a name the minifier shortens, for the same reason (about 25 places a
 * meter, about 230 bytes). The interpreter's Math functions need no `this`: `floor(x)` is
 * Math.floor(x). Two of the Original's variables at rest: the name, and the function object
 * the alias keeps (bench:memory).
 */
export const floor = Math.floor;
/**
 * Math itself for its other functions (math.ceil, math.min...): one variable at rest, where an
 * alias of each function would keep that function's object too (two each).
 */
export const math = Math;

/**
 * `b.subarray(from, to)` (a view, no copy), written as a call: the method's name is kept
 * whole at each of about 40 places a meter (about 240 bytes less as one function).
 */
export function sub(b: Uint8Array, from: number, to?: number): Uint8Array {
  return b.subarray(from, to);
}

export function getU16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

export function putU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

export function getU32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

export function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
