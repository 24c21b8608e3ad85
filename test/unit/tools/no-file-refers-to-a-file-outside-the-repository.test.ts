/*
 * The project stands on its own: no tracked file points at the notes the founders kept
 * beside the repository (their facts are written into docs/ with their sources), and
 * every relative link in the Markdown docs leads to a file that exists.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

const tracked = execFileSync("git", ["ls-files"], { encoding: "utf8" }).split("\n").filter((f) => f && /\.(ts|js|mjs|md|json|sh)$/.test(f) && !f.startsWith("node_modules/"));
// spelt in pieces, so this file does not name them itself
const OUTSIDE = ["../" + "shared", "plc" + "-facts.md", "design" + "-notes.md", "espruino" + "-facts.md", "style" + ".md"];

describe("the repository stands on its own", () => {
  it("no file refers to the notes outside it", () => {
    const hits: string[] = [];
    for (const f of tracked) {
      const text = readFileSync(f, "utf8");
      for (const o of OUTSIDE) if (text.includes(o)) hits.push(`${f}: ${o}`);
    }
    expect(hits).toEqual([]);
  });

  it("every relative link in the Markdown docs leads to a file of the repository", () => {
    const broken: string[] = [];
    for (const f of tracked.filter((x) => x.endsWith(".md"))) {
      for (const m of readFileSync(f, "utf8").matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/.test(target)) continue; // http:, mailto:
        if (!existsSync(join(dirname(f), target))) broken.push(`${f}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
