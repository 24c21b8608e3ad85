/*
 * Runs the gate over every bundle in dist/ and prints each one's size beside its
 * budget. Exit 1 when any bundle fails. `--sizes` prints the table only (exit 0 unless
 * a bundle is missing).
 */
import { readdirSync, readFileSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { BUDGETS, checkBundle, roleOf } from "./gate";

const dist = process.argv.find((a) => a.startsWith("--dist="))?.slice(7) ?? "dist";
const sizesOnly = process.argv.includes("--sizes");
if (!existsSync(dist)) {
  console.error(`gate: no ${dist}/ folder: run npm run build first`);
  process.exit(1);
}
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
if (count === 0) {
  console.error("gate: no bundles found");
  process.exit(1);
}
console.log(`gate: ${count} bundles, ${failed} failed`);
if (failed && !sizesOnly) process.exit(1);
