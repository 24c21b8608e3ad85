import { afterEach, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { startFakeConsole, type FakeConsole } from "../fixtures/fake-console";

/** ./flash.sh as a process (async: the stand-in console answers from this process). */
function flash(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("bash", ["flash.sh", "--no-build", ...args], { encoding: "utf8", timeout: 120_000 }, (e, stdout, stderr) => {
      resolve({ status: e ? (typeof e.code === "number" ? e.code : null) : 0, stdout, stderr });
    });
  });
}

const fakes: FakeConsole[] = [];
afterEach(async () => { for (const f of fakes.splice(0)) await f.close(); });

/** A board's console that takes the espruino CLI's upload; at load() its program starts (or not, as `boot` says). */
async function board(boot: (c: FakeConsole) => void) {
  const f = await startFakeConsole({ boot });
  fakes.push(f);
  return f;
}

describe("flash.sh after the upload", () => {
  it("fails with the reason when the port is unreachable (the espruino CLI itself exits 0 there)", async () => {
    const r = await flash("--board", "LINUX", "--role", "meter", "--id", "7", "--port", "tcp://127.0.0.1:1");
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n").pop()).toBe("flash: cannot reach the board at tcp://127.0.0.1:1: ECONNREFUSED");
  }, 60_000);

  it("says the program started when the board prints its started line", async () => {
    const f = await board((c) => { c.set("mlUp", 1); c.print("meterline: meter 7 started"); });
    const r = await flash("--board", "LINUX", "--role", "meter", "--id", "7", "--port", f.url, "--check-timeout", "3");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n").pop()).toBe("flash: meterline: meter 7 started");
    expect(f.received).toContain('print("meterline: provisioned meter 7");'); // the plan came through the CLI
    expect(f.flashWrites).toBeGreaterThan(100);
  }, 90_000);

  it("fails with the reason when the program does not start: out of memory, or another program runs", async () => {
    const oom = await board((c) => { c.errorFlags = ["LOW_MEMORY", "MEMORY"]; });
    const r = await flash("--board", "LINUX", "--role", "meter", "--id", "7", "--port", oom.url, "--check-timeout", "2");
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe("flash: the program did not start: it ran out of memory (mlUp unset, error flags LOW_MEMORY,MEMORY, 2700 of 2756 variables in use)");
    expect(oom.loads).toBe(2); // the plan's load(), then the check's own
    const other = await board((c) => { c.set("mlUp", 1); c.print("meterline: meter 8 started"); });
    const o = await flash("--board", "LINUX", "--role", "meter", "--id", "7", "--port", other.url, "--check-timeout", "2");
    expect(o.status).toBe(1);
    expect(o.stderr.trim()).toBe('flash: the board runs another program: "meterline: meter 8 started", expected "meterline: meter 7 started"');
    const boot = await board((c) => { c.print("meterline boot: no program to run (E102)"); });
    const b = await flash("--board", "LINUX", "--role", "concentrator", "--id", "1", "--port", boot.url, "--check-timeout", "2");
    expect(b.status).toBe(1);
    expect(b.stderr.trim()).toBe('flash: the program did not start within 2 s: the board said "meterline boot: no program to run (E102 BOOT_APP_THREW: the program threw when it started)" (mlUp unset, error flags none, 2700 of 2756 variables in use)');
  }, 180_000);

  it("refuses bad timeouts with exit 2", async () => {
    const r = await flash("--board", "LINUX", "--role", "meter", "--id", "7", "--port", "/dev/x", "--check-timeout", "soon");
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('flash: --check-timeout must be whole seconds, not "soon"');
  });
});
