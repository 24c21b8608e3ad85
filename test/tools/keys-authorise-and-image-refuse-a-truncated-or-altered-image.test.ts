import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IMAGE_FILE_HEADER } from "../../firmware/common/image-file";

const node = (script: string, ...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", script, ...args], { encoding: "utf8" });

/** One line on stderr, no stack trace. */
function oneLine(r: { stderr: string }): string {
  const lines = r.stderr.trim().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0];
}

describe("keys authorise and image sign and pass only a whole image (issue 16, host tools)", () => {
  it("refuses a truncated image, and one whose payload does not match its header's digest, with one line and exit 1; nothing is signed", () => {
    const dir = mkdtempSync(join(tmpdir(), "img-check-"));
    const kf = join(dir, "keys.json");
    expect(node("tools/keys/keys.ts", "new", "--meters", "1001-1002", "--out", kf).status).toBe(0);
    for (const [board, kind] of [["LINUX", "SHA-256"], ["ESPRUINOBOARD", "CRC-32"]]) {
      const good = join(dir, `${board}.mlim`);
      // (the Original's buffer holds its program only packed)
      expect(node("tools/image/image.ts", "--board", board, "--version", "2", "--out", good, ...(board === "ESPRUINOBOARD" ? ["--compress"] : [])).status).toBe(0);
      const bytes = readFileSync(good);
      const size = bytes.length - IMAGE_FILE_HEADER;
      const check = node("tools/image/image.ts", "--check", good);
      expect(check.status, check.stderr).toBe(0);
      expect(check.stdout).toMatch(new RegExp(`^image: .*: whole: meter v2 for board \\d+, ${size} bytes in \\d+ blocks of 200, ${kind} digest matches${board === "ESPRUINOBOARD" ? "; packed: \\d+ plain bytes in \\d+ chunks of 2048, unpacked to its plain digest" : ""}\\n$`));
      const short = join(dir, `${board}-short.mlim`);
      writeFileSync(short, bytes.subarray(0, bytes.length - 10));
      const altered = join(dir, `${board}-altered.mlim`);
      const a = Buffer.from(bytes);
      a[IMAGE_FILE_HEADER + 100] ^= 0x20; // one byte of the program
      writeFileSync(altered, a);
      const cases: [string, string][] = [
        [short, `truncated: the header says ${size} bytes of payload, the file holds ${size - 10}`],
        [altered, `the payload does not match the header's ${kind} digest`],
      ];
      for (const [f, why] of cases) {
        const tags = join(dir, "img.tags");
        const r = node("tools/keys/keys.ts", "authorise", "--keys", kf, "--image", f, "--image-id", "7", "--out", tags);
        expect(r.status, f).toBe(1);
        expect(oneLine(r)).toBe(`keys: --image ${f}: ${why}: nothing signed`);
        expect(existsSync(tags)).toBe(false);
        const c = node("tools/image/image.ts", "--check", f);
        expect(c.status, f).toBe(1);
        expect(oneLine(c)).toBe(`image: ${f}: ${why}`);
      }
    }
    // a whole image is still signed
    const ok = node("tools/keys/keys.ts", "authorise", "--keys", kf, "--image", join(dir, "LINUX.mlim"), "--image-id", "7", "--out", join(dir, "img.tags"));
    expect(ok.status, ok.stderr).toBe(0);
    expect(readFileSync(join(dir, "img.tags")).length).toBe(40 * 3); // the block key's record and two meters'
  }, 60_000);

  it("a bad output path is one line naming it, exit 1, no stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "out-path-"));
    const kf = join(dir, "keys.json");
    expect(node("tools/keys/keys.ts", "new", "--meters", "1", "--out", kf).status).toBe(0);
    const img = join(dir, "m.mlim");
    expect(node("tools/image/image.ts", "--board", "LINUX", "--version", "2", "--out", img).status).toBe(0);
    const nowhere = join(dir, "no", "such", "folder", "f");
    const cases: [string[], string][] = [
      [["tools/image/image.ts", "--board", "LINUX", "--version", "2", "--out", nowhere], `image: --out ${nowhere}: cannot write it: no such folder`],
      [["tools/image/image.ts", "--bare", "--board", "LINUX", "--version", "2", "--out", dir], `image: --out ${dir}: cannot write it: it is a folder`],
      [["tools/keys/keys.ts", "new", "--meters", "1", "--out", nowhere], `keys: --out ${nowhere}: cannot write it: no such folder`],
      [["tools/keys/keys.ts", "concentrator", "--keys", kf, "--out", nowhere], `keys: --out ${nowhere}: cannot write it: no such folder`],
      [["tools/keys/keys.ts", "authorise", "--keys", kf, "--image", img, "--image-id", "3", "--out", nowhere], `keys: --out ${nowhere}: cannot write it: no such folder`],
    ];
    for (const [args, line] of cases) {
      const r = node(args[0], ...args.slice(1));
      expect(r.status, args.join(" ")).toBe(1);
      expect(oneLine(r)).toBe(line);
    }
  }, 60_000);
});
