/*
 * Every shipped meter bundle's program (dist/<BOARD>/meter.js as an image carries it)
 * through the host's heatshrink, whole and in the independent chunks bench:compress
 * measures (1 to 4 KiB): each stream decompresses to its plain bytes, is smaller than them
 * (but for a last chunk under 256 bytes, whose size depends on the bundle's),
 * and the chunks put back together are the program. npm test builds dist/ first.
 */
import { describe, expect, it } from "vitest";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { compress, decompress } from "../../../tools/image/heatshrink";
import { bundleProgram } from "../../../tools/image/image";
import { CHUNK_SIZES, chunksOf } from "../../../bench/compression";

if (!existsSync("dist/LINUX/meter.js")) throw new Error("dist/ is missing: npm test builds it (npm run build)");
const bundles = readdirSync("dist").filter((b) => existsSync(join("dist", b, "meter.js"))).sort();

describe("the host's heatshrink round-trips every shipped meter bundle", () => {
  it("finds the meter bundles, the Original's and the Linux build's among them", () => {
    expect(bundles).toEqual(expect.arrayContaining(["ESPRUINOBOARD", "LINUX"]));
  });

  for (const board of bundles) {
    const program = bundleProgram(join("dist", board, "meter.js"));

    it(`${board}: whole, to the same bytes, in well under the plain size`, () => {
      const c = compress(program);
      expect(decompress(c, program.length)).toEqual(program);
      expect(decompress(c)).toEqual(program);
      expect(c.length).toBeLessThan(program.length * 0.75);
    });

    it(`${board}: in independent chunks of ${CHUNK_SIZES.join(", ")} bytes, each to its own bytes, together the program`, () => {
      for (const size of CHUNK_SIZES) {
        const chunks = chunksOf(program, size);
        expect(chunks.length, `${size}`).toBe(Math.ceil(program.length / size));
        const back = chunks.map((p) => {
          const c = compress(p);
          // (a tail of a few bytes has too little to match: it only round-trips)
          if (p.length >= 256) expect(c.length, `${size}`).toBeLessThan(p.length);
          return decompress(c, p.length);
        });
        const joined = new Uint8Array(program.length);
        let off = 0;
        for (const b of back) { joined.set(b, off); off += b.length; }
        expect(off, `${size}`).toBe(program.length);
        expect(joined, `${size}`).toEqual(program);
      }
    });
  }
});
