/*
 * npm start [-- scenario.json] [--report DIR]: runs a bench scenario (default:
 * bench/scenarios/default.json) with a live progress bar, prints the summary table,
 * writes DIR/report.json and DIR/report.html (default bench/out/), and exits 0 when the
 * scenario's checks pass, 1 with the reason when they do not, 2 for a bad scenario file.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadScenario, ScenarioError } from "./scenario";
import { runScenario } from "./run";
import { reportHtml, summaryText } from "./report";
import { PackError } from "../tools/image/pack";
import { HilError } from "./hil";

async function main(argv: string[]): Promise<number> {
  const flag = (n: string) => { const i = argv.indexOf(n); if (i < 0) return undefined; const v = argv[i + 1]; argv.splice(i, 2); return v; };
  const dir = flag("--report") ?? "bench/out";
  const file = argv[0] ?? "bench/scenarios/default.json";
  let sc;
  try { sc = loadScenario(file); } catch (e) {
    if (e instanceof ScenarioError) { console.error(`bench: bad scenario: ${e.message}`); return 2; }
    throw e;
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
    if (e instanceof PackError || e instanceof HilError) { console.error(`bench: ${e.message}`); return 1; }
    throw e;
  }
  if (tty) process.stdout.write("\n");
  console.log(summaryText(r));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "report.json"), JSON.stringify(r, null, 1));
  writeFileSync(join(dir, "report.html"), reportHtml(r));
  console.log(`bench: report in ${join(dir, "report.html")} and report.json`);
  if (!r.ok) { console.error(`bench: FAILED: ${r.reason}`); return 1; }
  console.log("bench: passed: every meter runs the new program, confirmed, and every reading is accounted for");
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
