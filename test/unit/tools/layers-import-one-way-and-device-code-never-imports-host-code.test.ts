/*
 * The layers import one way (import type counts): hal contracts (hal/types.ts, which
 * imports nothing) <- firmware/common <- protocol <- link <- meter, concentrator, boot (which
 * do not import each other). Hal implementations (hal/espruino, hal/mock, hal/host) may use
 * firmware/common. Device code (firmware/, hal/types.ts, hal/espruino) never imports host
 * code (tools/, bench/, test/, hal/mock, hal/host, node: modules, npm packages), and every
 * firmware file sits in a layer. Host code (tools/, bench/) takes the host's natives from
 * hal/host; the operator's tools (the fuzzer aside) take nothing from hal/mock.
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

/** What is wrong with file `f` importing `spec` (nothing: an empty list). */
function edgeProblems(f: string, spec: string): string[] {
  const t = target(f, spec), a = rank(f), b = rank(t), edge = `${f} -> ${t}`, bad: string[] = [];
  if (ALLOWED.has(edge)) return bad;
  if (f.startsWith("firmware/") || f === "hal/types.ts" || f.startsWith("hal/espruino/")) {
    // device code: every firmware file sits in a layer
    if (f.startsWith("firmware/") && a < 0) bad.push(`${edge}: ${f} is in no layer (firmware/common, protocol, link, meter, concentrator, boot)`);
    if (f === "hal/types.ts") return [...bad, `${edge}: the contracts import nothing`];
    if (!spec.startsWith(".")) { if (!(isEntry(f) && spec === "board-profile")) bad.push(`${edge}: device code imports a package or a node module`); return bad; }
    if (HOST.test(t)) return [...bad, `${edge}: device code imports host code`];
    if (t.startsWith("hal/espruino/")) { if (!isEntry(f) && !f.startsWith("hal/espruino/")) bad.push(`${edge}: only a program's entry plugs in the board's HAL`); return bad; }
  }
  if (a >= 0 && b > a) bad.push(`${edge}: ${RANK[a][2]} imports ${RANK[b][2]}, a layer above it`);
  if (a === 4 && b === 4 && f.split("/")[1] !== t.split("/")[1]) bad.push(`${edge}: programs do not import each other`);
  if (f.startsWith("hal/") && a < 0 && b >= 2) bad.push(`${edge}: a HAL implementation uses only hal/types and firmware/common`);
  // host code (tools, bench) takes the host's natives from hal/host; the operator's tools
  // (the fuzzer aside: mock flash and Storage are what it feeds) take nothing from hal/mock
  if (/^(tools|bench)\//.test(f) && t === "hal/mock/native.ts") bad.push(`${edge}: host code takes the host's natives from hal/host`);
  else if (f.startsWith("tools/") && !f.startsWith("tools/fuzz/") && t.startsWith("hal/mock/")) bad.push(`${edge}: host tools take nothing from hal/mock`);
  return bad;
}

function violations(): string[] {
  const bad: string[] = [];
  for (const f of [...files("firmware"), ...files("hal"), ...files("tools"), ...files("bench")]) for (const spec of imports(f)) bad.push(...edgeProblems(f, spec));
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

  it("refuses each kind of wrong import, made up here", () => {
    const one = (f: string, spec: string) => edgeProblems(f, spec).map((x) => x.slice(x.indexOf(": ") + 2));
    expect(one("firmware/common/bytes.ts", "../protocol/catalogue")).toEqual(["firmware/common imports protocol, a layer above it"]);
    expect(one("firmware/protocol/codec.ts", "../link/auth")).toEqual(["protocol imports link, a layer above it"]);
    expect(one("firmware/meter/meter.ts", "../concentrator/campaign")).toEqual(["programs do not import each other"]);
    expect(one("firmware/meter/meter.ts", "../../tools/errors/table")).toEqual(["device code imports host code"]);
    expect(one("firmware/meter/meter.ts", "../../hal/mock/flash")).toEqual(["device code imports host code"]);
    expect(one("firmware/link/modem.ts", "node:fs")).toEqual(["device code imports a package or a node module"]);
    expect(one("firmware/meter/update.ts", "../../hal/espruino/index")).toEqual(["only a program's entry plugs in the board's HAL"]);
    expect(one("hal/types.ts", "../firmware/common/bytes")).toEqual(["the contracts import nothing"]);
    expect(one("firmware/newpart/x.ts", "../common/bytes")[0]).toMatch(/is in no layer/);
    expect(one("bench/x.ts", "../hal/mock/native")).toEqual(["host code takes the host's natives from hal/host"]);
    expect(one("tools/x/y.ts", "../../hal/mock/flash")).toEqual(["host tools take nothing from hal/mock"]);
    // and what is allowed
    expect(one("firmware/meter/entry.ts", "board-profile")).toEqual([]);
    expect(one("firmware/meter/entry.ts", "../../hal/espruino/index")).toEqual([]);
    expect(one("hal/mock/flash.ts", "../../firmware/common/layout")).toEqual([]);
    expect(one("bench/rig.ts", "../hal/mock/flash")).toEqual([]);
    expect(one("tools/fuzz/stored.ts", "../../hal/mock/flash")).toEqual([]);
  });
});
