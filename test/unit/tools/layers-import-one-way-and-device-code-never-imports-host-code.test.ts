/*
 * The layers import one way (import type counts): hal contracts (hal/types.ts, which
 * imports nothing) <- firmware/common <- protocol <- link <- meter, concentrator, boot (which
 * do not import each other). Hal implementations (hal/espruino, hal/mock, hal/host) may use
 * firmware/common. Device code (firmware/, hal/types.ts, hal/espruino) never imports host
 * code (tools/, bench/, test/, hal/mock, hal/host, node: modules, npm packages), and the
 * operator's tools (tools/, the fuzzer aside) take the host's natives from hal/host, never
 * from hal/mock.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

function files(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Every module a file imports or re-exports (import type and export ... from included). */
function imports(file: string): string[] {
  const src = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"|\bimport\s+"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/g)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** "relative path.ts" for a relative specifier, else the specifier itself. */
function target(from: string, spec: string): string {
  return spec.startsWith(".") ? normalize(join(dirname(from), spec)).replace(/\\/g, "/") + ".ts" : spec;
}

const RANK: [RegExp, number, string][] = [
  [/^hal\/types\.ts$/, 0, "hal contracts"],
  [/^firmware\/common\//, 1, "firmware/common"],
  [/^firmware\/protocol\//, 2, "protocol"],
  [/^firmware\/link\//, 3, "link"],
  [/^firmware\/(meter|concentrator|boot)\//, 4, "programs"],
];
const rank = (p: string) => RANK.find(([r]) => r.test(p))?.[1] ?? -1;
const isEntry = (p: string) => /^firmware\/(meter|concentrator|boot)\/entry\.ts$/.test(p);
const HOST = /^(tools|bench|test)\/|^hal\/(mock|host)\//;

/** The one exception, with its reason: the simulated ST7580 speaks the device's frame format from the one module that defines it. */
const ALLOWED = new Set(["hal/mock/st7580-modem.ts -> firmware/link/st7580/frame.ts"]);

function violations(): string[] {
  const bad: string[] = [];
  for (const f of [...files("firmware"), ...files("hal")]) {
    for (const spec of imports(f)) {
      const t = target(f, spec), a = rank(f), b = rank(t), edge = `${f} -> ${t}`;
      if (ALLOWED.has(edge)) continue;
      const device = a >= 0 || f.startsWith("hal/espruino/");
      if (f === "hal/types.ts") { bad.push(`${edge}: the contracts import nothing`); continue; }
      if (device) {
        if (!spec.startsWith(".")) { if (!(isEntry(f) && spec === "board-profile")) bad.push(`${edge}: device code imports a package or a node module`); continue; }
        if (HOST.test(t)) { bad.push(`${edge}: device code imports host code`); continue; }
        if (t.startsWith("hal/espruino/")) { if (!isEntry(f) && !f.startsWith("hal/espruino/")) bad.push(`${edge}: only a program's entry plugs in the board's HAL`); continue; }
      }
      if (a >= 0 && b > a) bad.push(`${edge}: ${RANK[a][2]} imports ${RANK[b][2]}, a layer above it`);
      if (a === 4 && b === 4 && f.split("/")[1] !== t.split("/")[1]) bad.push(`${edge}: programs do not import each other`);
      if (f.startsWith("hal/") && a < 0 && b >= 2) bad.push(`${edge}: a HAL implementation uses only hal/types and firmware/common`);
    }
  }
  // the operator's tools (the fuzzer aside: mock flash and Storage are what it feeds)
  for (const f of files("tools")) {
    if (f.startsWith("tools/fuzz/")) continue;
    for (const spec of imports(f)) if (target(f, spec).startsWith("hal/mock/")) bad.push(`${f} -> ${target(f, spec)}: host tools take the host's natives from hal/host`);
  }
  return bad;
}

describe("layers", () => {
  it("import one way, device code imports no host code, and tools no mock", () => {
    expect(violations()).toEqual([]);
  });

  it("the check sees what it must: an import type counts, and a re-export", () => {
    expect(imports("firmware/common/layout.ts")).toContain("../../hal/types");
    expect(imports("hal/mock/native.ts")).toEqual(["../host/native"]);
    expect(rank("firmware/link/auth.ts")).toBe(3);
  });
});
