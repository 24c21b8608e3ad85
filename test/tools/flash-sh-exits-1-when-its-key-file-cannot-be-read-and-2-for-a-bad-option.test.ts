import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";

/** flash.sh's dry run (no board): its exit code and its one line on stderr. */
function flash(...args: string[]) {
  const r = spawnSync("./flash.sh", [...args, "--dry-run", "x"], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, err: r.stderr.trim() };
}

describe("flash.sh follows the host tools' exit codes (tools/cli/cli.ts)", () => {
  it("exits 1 when its key file cannot be read, with one line naming it", () => {
    const r = flash("--board", "LINUX", "--role", "meter", "--id", "1001", "--keys", "/nonexistent/keys.json");
    expect(r.code).toBe(1);
    expect(r.err).toBe("flash: --keys: /nonexistent/keys.json: no such key file");
  }, 60_000);

  it("exits 2 for a bad option, such as a meter id in the concentrators' range", () => {
    const r = flash("--board", "LINUX", "--role", "meter", "--id", "4294901760");
    expect(r.code).toBe(2);
    expect(r.err).toBe("flash: --id must be a whole number from 1 to 4294901759 for a meter");
  }, 60_000);
});
