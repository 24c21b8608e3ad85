import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { TARGETS } from "../../../tools/fuzz/targets";
import { refusals, runTarget } from "../../../tools/fuzz/runner";

/*
 * The fuzz targets of `npm run fuzz` (tools/fuzz/targets.ts), a few thousand inputs each
 * from a fixed seed (ML_FUZZ_RUNS and ML_FUZZ_SEED change them): every target decodes
 * some inputs, refuses others, and finds no failure. `npm run fuzz:coverage` runs this
 * file under v8 coverage to measure the decoders' branches reached (docs/fuzzing.md).
 */
const RUNS = Number(process.env.ML_FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.ML_FUZZ_SEED ?? 1);

describe(`fuzz targets, ${RUNS} inputs each from seed ${SEED}`, () => {
  it("cover every decoder a device runs on what it receives or reads back, each named by file and functions that exist", () => {
    expect(TARGETS.map((t) => t.name)).toEqual(["msg", "st7580", "transparent", "missing", "auth", "image-file", "config", "app-header", "session", "record-log", "checkpoint", "keystore", "meter-file", "store"]);
    for (const t of TARGETS) {
      for (const d of t.decoders) {
        const text = readFileSync(new URL(`../../../${d.file}`, import.meta.url), "utf8");
        for (const f of d.functions) expect(text, `${d.file} ${f}`).toMatch(new RegExp(`function ${f}\\(`));
      }
    }
  });

  for (const t of TARGETS) {
    it(`${t.name}: decodes some, refuses some, no failure`, () => {
      const r = runTarget(t, RUNS, SEED);
      const first = r.first ? `${r.first.why}\n  input ${r.first.input}${r.first.shrunk ? `\n  shrunk: ${r.first.shrunk.why}\n  input ${r.first.shrunk.input}` : ""}` : null;
      expect(first, `${r.failures} failures (npm run fuzz -- --target ${t.name} --runs ${RUNS} --seed ${SEED})`).toBeNull();
      expect(r.inputs).toBe(RUNS);
      expect(r.decoded, `${t.unit} decoded`).toBeGreaterThan(0);
      expect(r.refused.size, `refusals: ${refusals(r)}`).toBeGreaterThan(0);
    });
  }
});
