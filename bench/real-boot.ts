/*
 * bench:real's boot checks on the real interpreter, under a board runner that restarts the
 * interpreter when it exits and for nothing else: a new program that never starts and one
 * that throws at start are both reverted by the boot routine alone. Each is staged straight
 * into the stopped meter's flash file (bench/real-parts.ts, stageUpdate) as the next
 * version, activated, as a finished download leaves it.
 */
import { startBoard, type Life } from "../tools/board/runner";
import { loadProfile } from "../tools/profiles/profiles";
import { Err } from "../firmware/common/errors";
import { START_DEADLINE_MS } from "../firmware/common/update-image";
import { programImage, type Image } from "./image";
import { appRegion, readFlashFile, stageUpdate } from "./real-parts";

const BOARD = loadProfile("LINUX");

interface Case { name: string; program: string; version: number; expect: RegExp }

/**
 * Runs both cases on the stopped meter `id` in `folder`, which runs `current`. Returns the
 * problems (none when both were reverted and `current` runs again, byte for byte).
 */
export async function revertChecks(espruino: string, folder: string, id: number, current: Image, log: (s: string) => void): Promise<string[]> {
  const problems: string[] = [];
  const cases: Case[] = [
    { name: "a program that never starts (a comment only)", program: "// a comment only: nothing starts the meter", version: current.session.version + 1, expect: new RegExp(`new program did not start \\(E${Err.BOOT_APP_SILENT}\\), reverting`) },
    { name: "a program that throws at start", program: "throw new Error('this v is broken')", version: current.session.version + 2, expect: new RegExp(`new program failed \\(E${Err.BOOT_APP_THREW}\\), reverting`) },
  ];
  for (const c of cases) {
    const img = programImage(new TextEncoder().encode(c.program), { imageId: c.version, version: c.version, board: BOARD.code, blockSize: 200 });
    stageUpdate(folder, BOARD, img, current.session.version);
    const b = await startBoard({ espruino, folder, role: "meter", restartDelayMs: 200 });
    const lines: string[] = [];
    const t0 = Date.now();
    let revertedAt = 0;
    const ok = await new Promise<boolean>((res) => {
      const t = setTimeout(() => res(false), START_DEADLINE_MS + 30_000);
      b.on("line", (l: string, life: Life) => {
        lines.push(`${life.n}: ${l}`);
        if (c.expect.test(l)) revertedAt = Date.now() - t0;
        if (l === `meterline: meter ${id} started` && revertedAt) { clearTimeout(t); res(true); }
      });
    });
    const lives = b.lives.map((l) => `${l.n} ${l.how ?? "running"}${l.reboot ? " (E.reboot)" : ""}`).join(", ");
    await b.stop();
    const app = appRegion(readFlashFile(folder, BOARD), BOARD, [current, img]);
    if (!ok) problems.push(`${c.name}: not reverted (lives: ${lives}; last lines: ${lines.slice(-4).join(" / ")})`);
    else if (app.matches !== current) problems.push(`${c.name}: the app region holds v${app.version} afterwards, not the previous program byte for byte`);
    else log(`${c.name} (v${c.version}): reverted by the boot routine ${(revertedAt / 1000).toFixed(1)} s after the start; lives ${lives}; v${current.session.version} runs again, byte for byte`);
  }
  return problems;
}
