/*
 * npm run gate (and npm run size, the build's last step): runs the gate over every bundle in
 * dist/ and prints each one's size beside its budget. Exit 1 when any bundle fails (or none
 * is there). `--sizes` prints the table only (exit 0 unless a bundle is missing); with it the
 * tool is npm run size, and its help and errors say so.
 */
import { readdirSync, readFileSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { BUDGETS, checkBundle, roleOf } from "./gate";
import { cli, isMain, ToolError, type Parsed, type Tool } from "../cli/cli";

export const TOOL: Tool = {
  name: "gate", run: "npm run gate --",
  about: "The Espruino compatibility gate over every bundle in the build's folder, and each bundle's size\nbeside its budget (tools/gate/budgets.json).",
  options: {
    dist: { type: "string", value: "DIR", default: "dist", help: "the build's folder" },
    sizes: { type: "boolean", default: false, help: "the size table only: exit 0 even when a bundle fails the gate (npm run size)" },
  },
  examples: ["npm run gate", "npm run size"],
  notes: ["exit 0; 1 when a bundle fails the gate (not with --sizes) or no bundle is there"],
};

/** The same tool as npm run size runs it (gate --sizes): its help and its errors name that script. */
export const SIZE_TOOL: Tool = {
  ...TOOL, name: "size", run: "npm run size --",
  about: "Each bundle's size in the build's folder beside its budget (tools/gate/budgets.json), and whether it\npasses the Espruino compatibility gate: npm run gate -- --sizes, which exits 0 even when one fails.",
  examples: ["npm run size", "npm run size -- --dist /tmp/dist"],
  notes: ["exit 0; 1 when no bundle is there"],
};

/** The tool as it was run: npm run size gives --sizes (before any "--"). */
export function toolFor(argv: string[]): Tool {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).includes("--sizes") ? SIZE_TOOL : TOOL;
}

function gate({ values: v }: Parsed): number {
  const dist = v.dist as string;
  if (!existsSync(dist)) throw new ToolError(`no ${dist}/ folder: run npm run build first`);
  let failed = 0;
  let count = 0;
  const rows: string[] = [];
  for (const board of readdirSync(dist).sort()) {
    const dir = join(dist, board);
    if (!statSync(dir).isDirectory() || board.startsWith(".")) continue;
    for (const f of readdirSync(dir).filter((x) => x.endsWith(".js")).sort()) {
      const role = roleOf(f);
      const src = readFileSync(join(dir, f), "utf8");
      const budget = BUDGETS[role];
      const problems = checkBundle(src, budget);
      count++;
      const size = Buffer.byteLength(src);
      const pct = budget ? ((100 * size) / budget).toFixed(0) + "%" : "-";
      rows.push(`${board.padEnd(14)} ${role.padEnd(13)} ${String(size).padStart(6)} / ${String(budget ?? "-").padStart(6)} B  ${pct.padStart(4)}  ${problems.length ? "FAIL" : "ok"}`);
      for (const p of problems) rows.push(`    ${p.rule}: ${p.message}${p.line ? ` (line ${p.line})` : ""}`);
      if (problems.length) failed++;
    }
  }
  console.log(`board          role           size / budget      use  gate`);
  for (const r of rows) console.log(r);
  if (count === 0) throw new ToolError("no bundles found");
  console.log(`gate: ${count} bundles, ${failed} failed`);
  return failed && !v.sizes ? 1 : 0;
}

if (isMain(import.meta.url)) cli(toolFor(process.argv.slice(2)), gate);
