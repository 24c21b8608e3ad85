/*
 * Long fuzz runs of every decoder a device runs on what it receives or reads back: the
 * targets in tools/fuzz/targets.ts, each with inputs built from its format (valid, then
 * mutated, and some random) through fast-check, from a seed. Prints one line per target:
 * inputs, decoded, refused by code (tools/errors/table.ts names them), failures; for a
 * target that failed, the first failing input and fast-check's shrunk one.
 *
 *   npm run fuzz -- [--runs N] [--seed S] [--target NAME,...] [--doc docs/fuzzing.md]
 *
 * Exits 1 with one line naming the targets that failed (and the seed) when any did; 2 for a
 * bad argument (tools/cli/cli.ts). The normal test suite runs the same targets a few
 * thousand inputs each (test/unit/tools/fuzz-targets-reach-every-decoder-and-find-no-failure.test.ts);
 * `npm run fuzz:coverage` measures the branches they reach.
 */
import { cli, int, isMain, oneOf, outputFolder, ToolError, type Parsed, type Tool } from "../cli/cli";
import { TARGETS } from "./targets";
import { line, row, runTarget, type Tally } from "./runner";
import { writeSection } from "./doc";

export const TOOL: Tool = {
  name: "fuzz", run: "npm run fuzz --",
  about: [
    "Fuzzing that knows the formats: for each decoder a device runs (messages, the two modem framers, the",
    "missing-set report, the MAC check, image file header, configuration record, app header, session record,",
    "record log, checkpoints, key file, registry file, readings store) inputs are built valid from the format,",
    "then mutated (bit flips, truncation, extension, insertions, deletions, length fields moved, checks",
    "recomputed), some random; a line per target: inputs, decoded, refused by code, failures (what a failure",
    "is: docs/fuzzing.md).",
  ].join("\n"),
  options: {
    runs: { type: "string", value: "N", default: "1000000", help: "inputs per target" },
    seed: { type: "string", value: "S", help: "the fast-check seed, 0 to 2147483647 (default: from the clock)" },
    target: { type: "string", value: "NAME,...", help: `only these targets: ${TARGETS.map((t) => t.name).join(", ")}` },
    doc: { type: "string", value: "FILE", help: "also write the table into FILE's <!-- run --> section (docs/fuzzing.md)" },
  },
  examples: ["npm run fuzz -- --runs 100000 --seed 7", "npm run fuzz -- --target msg,auth --runs 20000"],
  notes: ["exit 0 when no target failed; 1 when one did (its first failing input and the shrunk one are printed)"],
};

function fuzz({ values: v }: Parsed): number {
  const runs = int("--runs", v.runs as string, 1, 1e9)!;
  const seed = int("--seed", v.seed as string | undefined, 0, 0x7fffffff) ?? Date.now() % 0x7fffffff;
  const names = v.target === undefined ? TARGETS.map((t) => t.name) : (v.target as string).split(",").map((n) => oneOf("--target", n.trim(), TARGETS.map((t) => t.name)));
  if (v.doc) outputFolder("--doc", v.doc as string);
  const chosen = TARGETS.filter((t) => names.includes(t.name));
  console.log(`fuzz: ${runs.toLocaleString("en-US")} inputs per target, seed ${seed}`);
  const done: [typeof chosen[number], Tally][] = [];
  const t0 = Date.now();
  for (const t of chosen) {
    const r = runTarget(t, runs, seed);
    done.push([t, r]);
    console.log(`  ${line(t, r)}`);
    if (r.first) {
      console.log(`    first failure: ${r.first.why}`);
      console.log(`      input ${r.first.input}`);
      if (r.first.shrunk) console.log(`    shrunk: ${r.first.shrunk.why}\n      input ${r.first.shrunk.input}`);
    }
  }
  const failed = done.filter(([, r]) => r.failures > 0);
  const secs = (Date.now() - t0) / 1000;
  console.log(`fuzz: ${chosen.length} targets in ${(secs / 60).toFixed(1)} min, ${failed.length ? `${failed.length} failed` : "no failure"}`);
  if (v.doc) {
    writeSection("--doc", v.doc as string, "run", [
      `\`npm run fuzz -- --runs ${runs} --seed ${seed}${v.target ? ` --target ${names.join(",")}` : ""}\` (${(secs / 60).toFixed(0)} min on ${process.platform}, Node ${process.versions.node}):`,
      "",
      "| target | inputs | decoded | refused, by code | failures | time |",
      "|---|---|---|---|---|---|",
      ...done.map(([t, r]) => row(t, r)),
    ].join("\n"));
  }
  if (failed.length) throw new ToolError(`${failed.map(([t, r]) => `${t.name} (${r.failures})`).join(", ")} failed (seed ${seed}; rerun one with --target NAME --seed ${seed})`);
  return 0;
}

if (isMain(import.meta.url)) cli(TOOL, fuzz);
