/*
 * npm run console --upload FILE:NAME (tools/console/console.ts): the file goes into the
 * board's Storage (base64 chunks, read back by length and CRC-32) before the commands run,
 * as a key rotation file must before meterline.rotate(NAME); a bad option is refused.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { crc32 } from "node:zlib";
import { main as consoleMain } from "../../tools/console/console";
import { startFakeConsole, type FakeConsole } from "../fixtures/fake-console";

const fakes: FakeConsole[] = [];
afterEach(async () => { for (const f of fakes.splice(0)) await f.close(); });

describe("npm run console --upload", () => {
  it("writes the file into Storage, checked by read-back, before the commands run; a bad one is refused", async () => {
    const fake = await startFakeConsole({ globals: (c) => ({ meterline: { rotate(name: string) { c.print(`meterline: rotating with ${c.storage.get(name)?.length ?? 0} bytes`); return 0; } } }) });
    fakes.push(fake);
    const dir = mkdtempSync(join(tmpdir(), "ml-up-")), f = join(dir, "ml.rot");
    const bytes = Uint8Array.from({ length: 2 * 72 }, (_, i) => (i * 37) & 0xff);
    writeFileSync(f, bytes);
    const out: string[] = [], err: string[] = [];
    expect(await consoleMain(["--port", fake.url, "--upload", `${f}:rot.up`, 'meterline.rotate("rot.up")'], (l) => out.push(l), (l) => err.push(l))).toBe(0);
    expect(Buffer.from(fake.storage.get("rot.up")!, "latin1")).toEqual(Buffer.from(bytes));
    expect(err).toEqual([`console: ${f} written to ${fake.url} as rot.up and read back: 144 bytes, CRC-32 ${(crc32(bytes) >>> 0).toString(16).padStart(8, "0")}`]);
    expect(out).toEqual(["meterline: rotating with 144 bytes", "=0"]);
    const bad: string[] = [];
    expect(await consoleMain(["--port", fake.url, "--upload", f, "1"], () => {}, (l) => bad.push(l))).toBe(2);
    expect(bad.join(" ")).toMatch(/--upload must be FILE:NAME/);
    expect(await consoleMain(["--port", fake.url, "--upload", `${f}.none:x`, "1"], () => {}, (l) => bad.push(l))).toBe(1);
    expect(bad.join(" ")).toMatch(/no such file/);
  });
});
