import { describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPort } from "../../bench/hil";
import { serialBoard } from "../harness/serial-board";
import type { RunResult } from "../../bench/run";

const haveSocat = spawnSync("socat", ["-V"]).status === 0;

async function ptyPair(dir: string): Promise<{ a: string; b: string; socat: ChildProcess }> {
  const a = join(dir, "ptyA"), b = join(dir, "ptyB");
  const socat = spawn("socat", [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: "ignore" });
  for (let i = 0; i < 100 && !(existsSync(a) && existsSync(b)); i++) await new Promise((r) => setTimeout(r, 20));
  return { a, b, socat };
}

describe("hardware in the loop over a pseudo-terminal pair (socat)", () => {
  it.runIf(haveSocat || process.env.CI)("a board on a serial port is read, updated to v2 and confirmed alongside a simulated meter", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hil-"));
    const { a, b, socat } = await ptyPair(dir);
    try {
      const scenario = {
        name: "hil", seed: 4, loss: { p: 0 },
        meters: [{ id: 3001, pulsesPerHour: 0 }, { id: 3002, attach: a }],
        readings: { hours: 0 }, image: { source: "synthetic", size: 1200, blockSize: 200 }, deadlineMinutes: 10,
      };
      const file = join(dir, "hil.json");
      writeFileSync(file, JSON.stringify(scenario));
      // the "real board": the meter program on the other end of the pair, in real time
      const board = serialBoard(await openPort(b), 3002);
      for (let k = 0; k < 17; k++) board.pulse().edge(1000 + k * 100);
      const bench = spawn(process.execPath, ["--import", "tsx", "bench/start.ts", file, "--report", dir], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "", err = "";
      bench.stdout!.on("data", (d) => { out += d; });
      bench.stderr!.on("data", (d) => { err += d; });
      const code = await new Promise<number>((r) => bench.on("exit", (c) => r(c ?? -1)));
      board.stop();
      expect(err).toBe("");
      expect(code, out).toBe(0);
      const rep = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as RunResult;
      const real = rep.meters.find((m) => m.id === 3002)!;
      expect(real.board).toBe(a);
      expect(real.campaignState).toBe("activated");
      expect(real.register).toBe(17); // its pulses, read through the bridge
      expect(rep.meters.find((m) => m.id === 3001)!.campaignState).toBe("activated");
      // the board itself: restarted into the new program, which confirmed itself
      expect(board.boots).toBe(2);
      expect(board.meter().onTrial()).toBe(false);
      expect(board.meter().receiver.state()).toBe(0);
    } finally {
      socat.kill();
    }
  }, 120_000);
});
