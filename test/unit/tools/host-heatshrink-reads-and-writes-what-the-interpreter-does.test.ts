/*
 * The host's heatshrink (tools/image/heatshrink.ts) against fixtures the Espruino 2v29
 * interpreter made itself (test/fixtures/heatshrink, tools/image/heatshrink-fixtures.ts):
 * it reads every stream the interpreter wrote whole, writes the interpreter's bytes for
 * every input, and where the interpreter's compress() loses its last byte, writes that
 * byte (which the interpreter then decompressed to the whole input, fixtures.json says).
 * No interpreter needed.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { compress, decompress, HeatshrinkError, interpreterCompress } from "../../../tools/image/heatshrink";
import type { FixtureManifest } from "../../../tools/image/heatshrink-fixtures";

const DIR = "test/fixtures/heatshrink";
const manifest = JSON.parse(readFileSync(join(DIR, "fixtures.json"), "utf8")) as FixtureManifest;
const fixtures = manifest.fixtures.map((r) => ({
  ...r,
  plain: new Uint8Array(readFileSync(join(DIR, `${r.name}.plain`))),
  hs: new Uint8Array(readFileSync(join(DIR, `${r.name}.hs`))),
}));
/** The inputs whose interpreter output lost its last byte (its own decompress() came back short). */
const cut = fixtures.filter((f) => f.interpreterOwnRoundTrip.bytes < f.plainBytes);
const whole = fixtures.filter((f) => !cut.includes(f));

describe("the fixtures the interpreter made", () => {
  it("are every .plain and .hs pair in the folder, with the sizes fixtures.json records", () => {
    const files = readdirSync(DIR).filter((f) => /\.(plain|hs)$/.test(f)).sort();
    expect(files).toEqual(fixtures.flatMap((f) => [`${f.name}.hs`, `${f.name}.plain`]).sort());
    for (const f of fixtures) expect([f.plain.length, f.hs.length], f.name).toEqual([f.plainBytes, f.hsBytes]);
    expect(manifest.interpreter.version).toBe("2v29");
  });

  it("cover the empty input, one byte, zeros, repetitive text, random bytes and the meter bundle's chunks", () => {
    const names = fixtures.map((f) => f.name);
    for (const n of ["empty", "one-byte", "zeros-300", "text-repetitive", "random-4096"]) expect(names).toContain(n);
    expect(names.filter((n) => n.startsWith("meter-ESPRUINOBOARD-")).length).toBeGreaterThanOrEqual(15);
    expect(fixtures.find((f) => f.name === "empty")!.hs.length).toBe(0);
    // 300 zeros in 10 bytes: back-references into the window's zeros before the first byte
    expect(fixtures.find((f) => f.name === "zeros-300")!.hs.length).toBe(10);
  });
});

describe("host decompress() reads what the interpreter's compress() wrote", () => {
  it("gives every whole fixture's plain bytes, and exactly as many with the size given", () => {
    expect(whole.length).toBeGreaterThanOrEqual(20);
    for (const f of whole) {
      expect(decompress(f.hs), f.name).toEqual(f.plain);
      expect(decompress(f.hs, f.plainBytes), f.name).toEqual(f.plain);
    }
  });

  it("refuses the interpreter's cut outputs as truncated, where the interpreter itself came back one byte short", () => {
    expect(cut.map((f) => f.name)).toEqual(["random-114-interpreter-loses-last-byte", "random-1079-interpreter-loses-last-byte"]);
    for (const f of cut) {
      expect(f.interpreterOwnRoundTrip, f.name).toEqual({ bytes: f.plainBytes - 1, prefixOfPlain: true });
      expect(() => decompress(f.hs), f.name).toThrow(HeatshrinkError);
      try { decompress(f.hs); } catch (e) { expect((e as HeatshrinkError).reason, f.name).toBe("truncated"); }
    }
  });
});

describe("host compress() writes what the interpreter's compress() writes", () => {
  it("byte for byte for every input where the interpreter keeps its last byte", () => {
    for (const f of whole) expect(compress(f.plain), f.name).toEqual(f.hs);
  });

  it("one byte more where the interpreter loses it, and that output decompressed whole on the interpreter", () => {
    for (const f of cut) {
      const host = compress(f.plain);
      expect(host.length, f.name).toBe(f.hs.length + 1);
      expect(host.subarray(0, f.hs.length), f.name).toEqual(f.hs);
      expect(decompress(host), f.name).toEqual(f.plain);
    }
  });

  it("interpreterCompress() models the loss: the interpreter's bytes for every fixture, cut ones included", () => {
    for (const f of fixtures) expect(interpreterCompress(f.plain), f.name).toEqual(f.hs);
  });

  it("the interpreter decompressed the host's output of every fixture to the whole input (fixtures.json), and that output is today's", () => {
    for (const f of fixtures) {
      expect(f.hostOutputDecompressesOnInterpreter, f.name).toBe(true);
      expect(compress(f.plain).length, f.name).toBe(f.hostBytes);
      expect(f.identical, f.name).toBe(!cut.includes(f));
    }
  });
});
