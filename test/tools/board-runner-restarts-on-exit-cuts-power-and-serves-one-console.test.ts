import { afterEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, existsSync, realpathSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startBoard, type Board, type Life } from "../../tools/board/runner";
import { ConsoleError, openConsole, type ConsoleSession } from "../../tools/console/session";

const FAKE = resolve("test/fixtures/fake-interpreter.mjs");
const boards: Board[] = [];
const sessions: ConsoleSession[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
  for (const b of boards.splice(0)) await b.stop();
});
async function board(o: { cutRandom?: { minMs: number; maxMs: number } } = {}) {
  const folder = join(mkdtempSync(join(tmpdir(), "board-")), "m1");
  const b = await startBoard({ espruino: FAKE, folder, role: "meter", ...o });
  boards.push(b);
  return { b, folder };
}
const until = async (f: () => boolean, ms = 5000) => { const end = Date.now() + ms; while (!f()) { if (Date.now() > end) throw new Error("timed out"); await new Promise((r) => setTimeout(r, 10)); } };

describe("board runner", () => {
  it("runs the interpreter in the board's folder and serves its console on TCP to a session", async () => {
    const { b, folder } = await board();
    const lines: string[] = [];
    b.on("line", (l: string) => lines.push(l));
    const s = await openConsole({ port: b.url });
    sessions.push(s);
    expect((await s.command("cwd()")).value).toBe(JSON.stringify(realpathSync(folder)));
    expect(existsSync(join(folder, "espruino.flash"))).toBe(true);
    expect(lines).toContain("cwd()"); // every console line reaches the listeners, echo included
    await new Promise((r) => setTimeout(r, 300));
    expect(lines).not.toContain("stdin ended"); // stdin stays open while idle
  });

  it("restarts the interpreter when it exits (E.reboot) and logs each life; never otherwise", async () => {
    const { b } = await board();
    const s = await openConsole({ port: b.url });
    sessions.push(s);
    const ends: Life[] = [];
    b.on("life-end", (l: Life) => ends.push(l));
    await expect(s.command("E.reboot()", { timeoutMs: 1000 })).rejects.toMatchObject({ code: "REBOOTED" });
    await until(() => b.lives.length === 2 && b.running);
    expect(ends[0]).toMatchObject({ n: 1, how: "exit", code: 1, reboot: true });
    expect((await s.command("1+1")).value).toBe("1+1"); // the session stays connected across lives
    s.command("exit(0)").catch(() => undefined);
    await until(() => b.lives.length === 3);
    expect(b.lives[1]).toMatchObject({ how: "exit", code: 0, reboot: false });
    await new Promise((r) => setTimeout(r, 500));
    expect(b.lives.length).toBe(3); // a running board is left alone
  });

  it("plays a power cut with kill -9, at once or some ms into a life, and at random", async () => {
    const { b } = await board();
    await until(() => b.running);
    const cut = await b.cut();
    expect(cut).toMatchObject({ n: 1, how: "cut", signal: "SIGKILL" });
    await until(() => b.running);
    const next = b.cutAfter(150, { next: true });
    const l = b.life!;
    await new Promise((r) => setTimeout(r, 250));
    expect(l.end).toBeUndefined(); // armed for the next life, not this one
    await b.cut();
    const c = await next;
    expect(c.how).toBe("cut");
    expect(c.end! - c.start).toBeGreaterThanOrEqual(140);
    const r = await board({ cutRandom: { minMs: 100, maxMs: 200 } });
    await until(() => r.b.lives.filter((x) => x.how === "cut").length >= 3, 10000);
    for (const x of r.b.lives.filter((y) => y.how === "cut")) expect(x.end! - x.start).toBeLessThan(600);
  });

  it("an interpreter that can no longer be started leaves the board off with the reason, and the host running", async () => {
    // found in review: a failed spawn left the runner thinking a process ran, and emitted an
    // "error" nobody listened to, which ends the host process
    const dir = mkdtempSync(join(tmpdir(), "board-gone-"));
    const exe = join(dir, "espruino");
    copyFileSync(FAKE, exe);
    chmodSync(exe, 0o755);
    const b = await startBoard({ espruino: exe, folder: join(dir, "m1"), role: "meter" });
    boards.push(b);
    await until(() => b.running);
    unlinkSync(exe);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      await b.cut();
      await until(() => b.lives.length === 2 && b.lives[1].end !== undefined);
      expect(b.running).toBe(false);
      expect(b.lives[1]).toMatchObject({ n: 2, how: "exit", code: null });
      await until(() => warnings.length > 0);
      expect(warnings[0]).toMatch(/^cannot run .*espruino: spawn .* ENOENT$/);
      await new Promise((r) => setTimeout(r, 300));
      expect(b.lives.length).toBe(2); // not started again and again
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("serves one console client at a time: a second one is told the console is taken", async () => {
    const { b } = await board();
    const first = await openConsole({ port: b.url });
    sessions.push(first);
    await first.ping();
    const second = await openConsole({ port: b.url, reconnect: false });
    sessions.push(second);
    const e = await second.command("1").catch((x) => x);
    expect(e).toBeInstanceOf(ConsoleError);
    expect(e.code).toBe("TAKEN");
    await first.close();
    const third = await openConsole({ port: b.url });
    sessions.push(third);
    expect((await third.command("2")).value).toBe("2");
  });

  it("npm run board: SIGTERM stops the runner and kills the interpreter (which ignores SIGTERM); bad arguments exit 2", async () => {
    const folder = mkdtempSync(join(tmpdir(), "board-"));
    const p = spawn(process.execPath, ["--import", "tsx", "tools/board/board.ts", "--role", "meter", "--folder", folder, "--espruino", FAKE, "--console", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => { out += d; });
    await until(() => /life 1 started/.test(out), 20000);
    const pid = Number(/pid (\d+)/.exec(out)![1]);
    p.kill("SIGTERM");
    const code = await new Promise((r) => p.on("exit", r));
    expect(code).toBe(0);
    expect(out).toMatch(/life 1 ended .*: stopped/);
    expect(() => process.kill(pid, 0)).toThrow(); // the interpreter is gone
    const bad = spawn(process.execPath, ["--import", "tsx", "tools/board/board.ts", "--role", "meter", "--folder", folder, "--espruino", FAKE, "--console", "99999"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    bad.stderr.on("data", (d) => { err += d; });
    expect(await new Promise((r) => bad.on("exit", r))).toBe(2);
    expect(err.trim()).toBe('board: --console must be a TCP port from 0 to 65535, got "99999"');
  }, 60_000);
});
