/*
 * Branch coverage of the decoders by the fuzz targets: runs the targets' vitest file
 * (test/unit/tools/fuzz-targets-reach-every-decoder-and-find-no-failure.test.ts) under
 * vitest's v8 coverage restricted to the decoders' files, then counts, for each decoder,
 * the branches inside its functions (Target.decoders: a file and function names; nested
 * functions count with the one they are in) that the inputs reached.
 *
 *   npm run fuzz:coverage -- [--runs N] [--seed S] [--min PCT] [--doc docs/fuzzing.md]
 *
 * Prints a line per decoder: branches reached of all, and the lines of those not reached.
 * Exits 1 when a decoder is under --min (85%), or when the fuzz test itself failed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cli, int, isMain, ToolError, UsageError, type Parsed, type Tool } from "../cli/cli";
import { TARGETS } from "./targets";
import { writeSection } from "./doc";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const FUZZ_TEST = "test/unit/tools/fuzz-targets-reach-every-decoder-and-find-no-failure.test.ts";

export const TOOL: Tool = {
  name: "fuzz:coverage", run: "npm run fuzz:coverage --",
  about: `Branch coverage of every decoder by the fuzz targets: runs ${FUZZ_TEST}\nunder vitest's v8 coverage and counts the branches of each decoder's functions its inputs reached.`,
  options: {
    runs: { type: "string", value: "N", default: "10000", help: "inputs per target" },
    seed: { type: "string", value: "S", default: "1", help: "the fast-check seed" },
    min: { type: "string", value: "PCT", default: "85", help: "the least share of each decoder's branches to reach" },
    doc: { type: "string", value: "FILE", help: "also write the table into FILE's <!-- coverage --> section (docs/fuzzing.md)" },
  },
  examples: ["npm run fuzz:coverage", "npm run fuzz:coverage -- --runs 20000 --doc docs/fuzzing.md"],
  notes: ["exit 0 when every decoder reaches --min; 1 when one does not, or the fuzz test failed"],
};

interface Loc { start: { line: number; column?: number | null }; end: { line: number; column?: number | null } }
interface FileCoverage {
  fnMap: Record<string, { name: string; loc: Loc }>;
  branchMap: Record<string, { loc: Loc; type: string; locations: Loc[]; line: number }>;
  b: Record<string, number[]>;
}

export interface DecoderCoverage {
  target: string;
  file: string;
  functions: string[];
  total: number;
  reached: number;
  /** Lines of branches not reached (a line once), with the kind of branch. */
  missed: { line: number; type: string }[];
}

/** Branches of the named functions of one file (istanbul JSON from v8), reached and not. */
export function decoderCoverage(fc: FileCoverage, functions: string[]): { total: number; reached: number; missed: { line: number; type: string }[] } {
  const ranges: [number, number][] = [];
  for (const name of functions) {
    const fns = Object.values(fc.fnMap).filter((f) => f.name === name);
    if (!fns.length) throw new ToolError(`no function ${name} in the coverage of its file (renamed? update its target's decoders)`);
    for (const f of fns) ranges.push([f.loc.start.line, f.loc.end.line]);
  }
  let total = 0, reached = 0;
  const missed: { line: number; type: string }[] = [];
  for (const [id, br] of Object.entries(fc.branchMap)) {
    const line = br.loc.start.line ?? br.line;
    if (!ranges.some(([a, b]) => line >= a && line <= b)) continue;
    const counts = fc.b[id] ?? [];
    br.locations.forEach((l, k) => {
      total++;
      if ((counts[k] ?? 0) > 0) reached++;
      else {
        const at = l.start.line ?? line;
        if (!missed.some((m) => m.line === at)) missed.push({ line: at, type: br.type });
      }
    });
  }
  missed.sort((a, b) => a.line - b.line);
  return { total, reached, missed };
}

const pct = (d: { total: number; reached: number }) => (d.total ? (100 * d.reached) / d.total : 100);

export function coverageLine(d: DecoderCoverage): string {
  return `${d.target.padEnd(12)} ${`${d.file} ${d.functions.join(", ")}`.padEnd(96)} ${pct(d).toFixed(1).padStart(5)}%  ${`${d.reached}/${d.total}`.padStart(7)} branches${d.missed.length ? `  not reached: line ${d.missed.map((m) => m.line).join(", ")}` : ""}`;
}

export function coverageRow(d: DecoderCoverage): string {
  return `| ${d.target} | \`${d.file}\` ${d.functions.join(", ")} | ${pct(d).toFixed(1)}% | ${d.reached} / ${d.total} | ${d.missed.length ? d.missed.map((m) => `${m.line} (${m.type})`).join(", ") : "none"} |`;
}

function coverage({ values: v }: Parsed): number {
  const runs = int("--runs", v.runs as string, 1, 1e7)!;
  const seed = int("--seed", v.seed as string, 0, 0x7fffffff)!;
  const min = Number(v.min);
  if (String(v.min).trim() === "" || !(min >= 0 && min <= 100)) throw new UsageError(`--min must be a share from 0 to 100, got "${v.min}"`);
  const files = [...new Set(TARGETS.flatMap((t) => t.decoders.map((d) => d.file)))];
  const dir = mkdtempSync(join(tmpdir(), "fuzz-coverage-"));
  try {
    const vitest = join(dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs");
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [
      vitest, "run", FUZZ_TEST, "--reporter=dot",
      "--coverage.enabled=true", "--coverage.provider=v8", "--coverage.reportOnFailure=true", "--coverage.reporter=json", `--coverage.reportsDirectory=${dir}`,
      ...files.map((f) => `--coverage.include=${f}`),
    ], { cwd: ROOT, env: { ...process.env, ML_FUZZ_RUNS: String(runs), ML_FUZZ_SEED: String(seed) }, encoding: "utf8", maxBuffer: 64 << 20 });
    let json: Record<string, FileCoverage>;
    try {
      json = JSON.parse(readFileSync(join(dir, "coverage-final.json"), "utf8"));
    } catch {
      throw new ToolError(`vitest wrote no coverage (exit ${r.status}): ${(r.stderr || r.stdout || "").trim().split("\n").slice(-3).join(" / ")}`);
    }
    const out: DecoderCoverage[] = [];
    for (const t of TARGETS) {
      for (const d of t.decoders) {
        const fc = json[resolve(ROOT, d.file)];
        if (!fc) throw new ToolError(`no coverage of ${d.file}: the ${t.name} target never loaded it`);
        out.push({ target: t.name, file: d.file, functions: d.functions, ...decoderCoverage(fc, d.functions) });
      }
    }
    console.log(`fuzz:coverage: ${runs} inputs per target, seed ${seed}, ${((Date.now() - t0) / 1000).toFixed(0)} s; branches of each decoder's functions reached (v8)`);
    for (const d of out) console.log(`  ${coverageLine(d)}`);
    const low = out.filter((d) => pct(d) < min);
    if (v.doc) {
      writeSection("--doc", v.doc as string, "coverage", [
        `\`npm run fuzz:coverage -- --runs ${runs} --seed ${seed}\` (vitest ${readVersion("vitest")}, @vitest/coverage-v8 ${readVersion("@vitest/coverage-v8")}): branches inside each decoder's functions, reached by the targets' inputs.`,
        "",
        "| target | decoder | branches | reached / all | lines of branches not reached (kind) |",
        "|---|---|---|---|---|",
        ...out.map(coverageRow),
      ].join("\n"));
    }
    if (r.status !== 0) throw new ToolError(`the fuzz test failed (exit ${r.status}): ${(r.stdout || "").split("\n").filter((l) => /failures|AssertionError|FAIL/.test(l)).slice(0, 3).join(" / ") || "see npx vitest run " + FUZZ_TEST}`);
    if (low.length) throw new ToolError(`${low.map((d) => `${d.target} ${d.file} ${pct(d).toFixed(1)}%`).join(", ")} under ${min}% of branches`);
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readVersion(pkg: string): string {
  try {
    return JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
}

if (isMain(import.meta.url)) cli(TOOL, coverage);
