/*
 * On the interpreter, Flash.erasePage refuses a whole number held as a float (Math.floor's
 * result, and sums with it): "Address should be an integer, got Number" (measured on the
 * 2v29 Linux build: erasePage(0x1003E000 + Math.floor(8192 / 1024 / 2) * 1024) throws,
 * the same with `| 0` erases; Flash.read and Flash.write take either). Found by bench:real,
 * where the concentrator's second campaign checkpoint (the store region's other half,
 * Math.floor(size / unit / 2) * unit) threw inside the campaign. A VM cannot tell a
 * float-typed whole number from an integer, so this checks what the HAL hands the
 * interpreter: every erasePage call in device code goes through `| 0`, which gives an
 * integer-typed value there.
 */
import { describe, expect, it } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

describe("device code erasing flash pages", () => {
  it("passes Flash.erasePage an address coerced with | 0, everywhere", () => {
    const calls = [...sources("hal/espruino"), ...sources("firmware")].flatMap((f) => readFileSync(f, "utf8").split("\n").filter((l) => /\.erasePage\(/.test(l) && !/^\s*(\/\/|\*)/.test(l)).map((l) => `${f}: ${l.trim()}`));
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls) expect(c).toMatch(/\.erasePage\(\w+ \| 0\)/);
  });
});
