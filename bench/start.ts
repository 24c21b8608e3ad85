/*
 * npm start [-- scenario.json] [--report DIR] and npm run scenario: runs a bench scenario
 * (default: bench/scenarios/default.json) with a live progress bar, prints the summary table,
 * writes DIR/report.json and DIR/report.html (default bench/out/), and exits 0 when the
 * scenario's checks pass, 1 with the reason when they do not, 2 for a bad argument or scenario
 * file. npm start passes --build: the bundles are built first, after the command line is
 * checked (so --help and a bad option answer at once).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadScenario, ScenarioError } from "./scenario";
import { runScenario } from "./run";
import { reportHtml, summaryText } from "./report";
import { HilError } from "./hil";
import { cli, inputFile, isMain, ToolError, UsageError, writeOutput, type Parsed, type Tool } from "../tools/cli/cli";

export const TOOL: Tool = {
  name: "bench", run: "npm start --",
  about: "Runs a bench scenario: a concentrator and meters on a simulated power line (or boards in the loop),\nreadings, then an update campaign with the scenario's faults; a progress bar, the summary table, and\nreport.json and report.html. npm start builds the bundles first (--build); npm run scenario does not.",
  options: {
    report: { type: "string", value: "DIR", default: "bench/out", help: "where report.json and report.html go" },
    build: { type: "boolean", default: false, help: "build the bundles first (npm start passes it)" },
  },
  positionals: { usage: "[scenario.json]", help: "the scenario file (default bench/scenarios/default.json)" },
  examples: ["npm start", "npm run scenario -- bench/scenarios/unreachable.json --report /tmp/out"],
  notes: ["exit 0 when every check passes; 1 with the reason when one does not, or when the scenario file cannot be read; 2 for a bad\nargument or a scenario file that reads wrong"],
};

async function main({ values: v, positionals }: Parsed): Promise<number> {
  if (positionals.length > 1) throw new UsageError(`one scenario file at most, got ${positionals.length}`);
  const dir = v.report as string;
  const file = positionals[0] ?? "bench/scenarios/default.json";
  inputFile("", file); // one that cannot be read is a failure (1); one that reads wrong, a bad argument (2)
  let sc;
  try { sc = loadScenario(file); } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(`bad scenario: ${e.message}`);
    throw e;
  }
  if (v.build) {
    const b = spawnSync("npm", ["run", "build", "--silent"], { stdio: "inherit" });
    if (b.status !== 0) throw new ToolError("the build failed: npm run build says why");
  }
  const tty = process.stdout.isTTY;
  let lastStage = "", lastDraw = 0;
  const draw = (stage: string, f: number, detail: string) => {
    if (tty) {
      const now = Date.now();
      if (now - lastDraw < 50 && stage === lastStage) return;
      lastDraw = now;
      const w = 30, n = Math.round(Math.max(0, Math.min(1, f)) * w);
      process.stdout.write(`\r[${"#".repeat(n)}${"-".repeat(w - n)}] ${(f * 100).toFixed(0).padStart(3)}% ${stage.padEnd(10)} ${detail}`.padEnd(100));
    } else if (stage !== lastStage) console.log(`bench: ${stage}: ${detail}`);
    lastStage = stage;
  };
  console.log(`bench: scenario ${sc.name}: ${sc.meters.length} meters, ${sc.modem} at ${sc.bitRate} bit/s, ${(sc.loss.p * 100).toFixed(0)}% loss (bursts of ${sc.loss.meanBurst}), seed ${sc.seed}`);
  let r;
  try { r = await runScenario(sc, { progress: draw }); } catch (e) {
    if (tty) process.stdout.write("\n");
    if (e instanceof HilError) throw new ToolError(e.message);
    throw e;
  }
  if (tty) process.stdout.write("\n");
  console.log(summaryText(r));
  try { mkdirSync(dir, { recursive: true }); } catch (e) { throw new ToolError(`--report ${dir}: cannot make the folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  writeOutput("--report", join(dir, "report.json"), JSON.stringify(r, null, 1));
  writeOutput("--report", join(dir, "report.html"), reportHtml(r));
  console.log(`bench: report in ${join(dir, "report.html")} and report.json`);
  if (!r.ok) { console.error(`bench: FAILED: ${r.reason}`); return 1; }
  console.log("bench: passed: every meter runs the new program, confirmed, and every reading is accounted for");
  return 0;
}

if (isMain(import.meta.url)) cli(TOOL, main);
