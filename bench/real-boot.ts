/*
 * bench:real's boot checks on the real interpreter, under a board runner that restarts the
 * interpreter when it exits and for nothing else: a new program that never starts and one
 * that throws at start are both reverted by the boot routine alone. Each is staged straight
 * into the stopped meter's flash file (bench/real-parts.ts, stageUpdate) as the next
 * version, activated, as a finished download leaves it.
 *
 * packedChecks: the shipped meter program as a packed image (bench/image.ts plainAndPacked:
 * chunks of 2,048 bytes compressed on the host) is unpacked into the app region by the boot
 * routine on the interpreter, with its heatshrink, and runs; the same packed with one chunk
 * corrupted (its download digest recomputed, so only the plain digest after unpacking can
 * find it) ends with the previous program running again (E105). The same program plain is
 * installed first, for the install time to compare with.
 *
 * bootRun (npm run bench:real -- --espruino PATH --boot): those checks alone, on one meter
 * provisioned with flash.sh, without the line, the readings or the campaign.
 */
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { startBoard, type Board, type Life } from "../tools/board/runner";
import { bundleProgram } from "../tools/image/image";
import { loadProfile } from "../tools/profiles/profiles";
import { interpreter } from "../tools/cli/cli";
import { Err } from "../firmware/common/errors";
import { hostNative } from "../hal/host/native";
import { Outcome, readOutcome } from "../firmware/meter/trial";
import { START_DEADLINE_MS } from "../firmware/common/update-image";
import { corruptPackedChunk, plainAndPacked, programImage, type Image } from "./image";
import { appRegion, installStage, provisionMeter, ptyPair, readFlashFile, RealError, stageUpdate } from "./real-parts";

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

/** What one boot of a staged image did: its lines, when the journal showed the install start and end, when the started line came (ms after the first life's start). */
interface Boot { board: Board; ok: boolean; lines: string[]; lives: string; installFrom: number; installTo: number; startedAt: number }

/** Starts the stopped meter in `folder` with an image staged; resolves when `done` says so (or after `timeoutMs`), watching the journal for `imageId`'s install. */
async function bootStaged(espruino: string, folder: string, imageId: number, done: (l: string, lines: string[]) => boolean, timeoutMs: number): Promise<Boot> {
  const b: Board = await startBoard({ espruino, folder, role: "meter", restartDelayMs: 200 });
  const lines: string[] = [];
  let startedAt = -1, finished = false;
  const ok = new Promise<boolean>((res) => {
    const t = setTimeout(() => { finished = true; res(false); }, timeoutMs);
    b.on("line", (l: string, life: Life) => {
      lines.push(`${life.n}: ${l}`);
      if (done(l, lines)) { startedAt = Date.now() - b.lives[0].start; finished = true; clearTimeout(t); res(true); }
    });
  });
  // the journal, read in the flash file every 2 ms: when the copy starts and when it ends
  let installFrom = -1, installTo = -1;
  while (!finished && installTo < 0) {
    const life = b.lives[0];
    if (life) {
      const st = installStage(readFlashFile(folder, BOARD), BOARD, imageId);
      if (st !== "none" && installFrom < 0) installFrom = Date.now() - life.start;
      if (st === "ended") installTo = Date.now() - life.start;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const res = await ok;
  const lives = b.lives.map((l) => `${l.n} ${l.how ?? "running"}${l.reboot ? " (E.reboot)" : ""}`).join(", ");
  return { board: b, ok: res, lines, lives, installFrom, installTo, startedAt };
}

/**
 * Runs the packed checks on the stopped meter `id` in `folder`, which runs `current`.
 * Returns the problems and the image the meter runs afterwards (the packed one's plain
 * payload when it installed).
 */
export async function packedChecks(espruino: string, folder: string, id: number, current: Image, log: (s: string) => void, dist = "dist"): Promise<{ problems: string[]; current: Image }> {
  const problems: string[] = [];
  const started = `meterline: meter ${id} started`;
  const program = bundleProgram(join(dist, BOARD.board, "meter.js"));
  // versions above revertChecks' two (each image id is settled once in the journal)
  const v0 = current.session.version + 3, v = v0 + 1;

  // 0. for comparison, the same program plain: how long its install takes on the interpreter
  const base = programImage(program, { imageId: v0 & 0xffff, version: v0, board: BOARD.code, blockSize: 200 });
  stageUpdate(folder, BOARD, base, current.session.version);
  const r0 = await bootStaged(espruino, folder, base.session.imageId, (l) => l === started, 60_000);
  await r0.board.stop();
  const app0 = appRegion(readFlashFile(folder, BOARD), BOARD, [base, current]);
  if (!r0.ok || app0.matches !== base) problems.push(`the same program plain (v${v0}): ${r0.ok ? `the app region holds v${app0.version}, not v${v0} byte for byte` : `no started line within 60 s (last lines: ${r0.lines.slice(-4).join(" / ")})`}`);
  else log(`the same program plain (v${v0}, ${base.session.blockCount} blocks), for comparison: install (journal START to DONE) from about ${r0.installFrom} to ${r0.installTo} ms after the interpreter's start, started line at ${r0.startedAt} ms; lives ${r0.lives}`);
  if (problems.length) return { problems, current };
  current = base;

  const { plain, packed } = plainAndPacked(program, { imageId: v & 0xffff, version: v, board: BOARD.code, blockSize: 200 }, 2048);
  log(`packed image v${v}: ${BOARD.board} meter program ${program.length} bytes, plain payload ${plain.bytes.length} bytes, packed ${packed.bytes.length} bytes (${(100 * packed.bytes.length / plain.bytes.length).toFixed(1)} %) in ${Math.ceil(plain.bytes.length / 2048)} chunks of 2,048; ${packed.session.blockCount} blocks of 200 to download instead of ${plain.session.blockCount}`);

  // 1. a packed image is unpacked into the app region and runs
  stageUpdate(folder, BOARD, packed, current.session.version);
  const r = await bootStaged(espruino, folder, packed.session.imageId, (l) => l === started, 60_000);
  const b = r.board;
  await b.stop();
  const bootLines = r.lines.filter((l) => /meterline/.test(l));
  const after = readFlashFile(folder, BOARD);
  const app = appRegion(after, BOARD, [plain, current, packed]);
  // the program that printed the started line is the one the boot routine just installed, on
  // trial: the journal ends with DONE and one TRY for its image (what the meter program reads)
  const out = readOutcome(after, BOARD.regions.journal!);
  const name = "a packed image is unpacked into the app region and runs";
  if (!r.ok) problems.push(`${name}: no started line within 60 s (lives: ${r.lives}; last lines: ${r.lines.slice(-4).join(" / ")})`);
  else if (r.lines.some((l) => /meterline boot: /.test(l))) problems.push(`${name}: the boot routine said ${r.lines.filter((l) => /meterline boot: /.test(l)).join(" / ")}`);
  else if (app.matches !== plain) problems.push(`${name}: the app region holds v${app.version} (${app.bytes.length} bytes), not the plain payload of v${v} byte for byte`);
  else if (out.outcome !== Outcome.RUNNING || out.imageId !== packed.session.imageId || out.tries !== 1) problems.push(`${name}: the journal says outcome ${out.outcome} for image ${out.imageId} after ${out.tries} tries, not image ${packed.session.imageId} installed and started once on trial`);
  else {
    log(`${name} (v${v}): install (journal START to DONE) from about ${r.installFrom} to ${r.installTo} ms after the interpreter's start, "${started}" at ${r.startedAt} ms; lives ${r.lives}; journal: image ${out.imageId} installed (DONE), 1 start on trial`);
    log(`  its lines: ${bootLines.join(" / ")}`);
    log(`  app region: v${app.version}, ${app.bytes.length} bytes, the plain payload byte for byte (CRC-32 ${hostNative.crc32(app.bytes).toString(16)})`);
  }
  if (problems.length) return { problems, current };
  current = plain;

  // 2. the same program packed, one chunk corrupted: the previous program comes back
  const w = v + 1;
  const good = plainAndPacked(program, { imageId: w & 0xffff, version: w, board: BOARD.code, blockSize: 200 }, 2048);
  const chunk = Math.floor(Math.ceil(good.plain.bytes.length / 2048) / 2);
  const bad = corruptPackedChunk(good.packed, chunk);
  stageUpdate(folder, BOARD, bad, current.session.version);
  const reverted = new RegExp(`^meterline boot: new program reverted \\(E${Err.BOOT_REVERTED}\\)$`);
  const r2 = await bootStaged(espruino, folder, bad.session.imageId, (l, ls) => l === started && ls.some((x) => reverted.test(x.replace(/^\d+: /, ""))), 60_000);
  await r2.board.stop();
  const after2 = readFlashFile(folder, BOARD);
  const app2 = appRegion(after2, BOARD, [current, good.plain]);
  const out2 = readOutcome(after2, BOARD.regions.journal!);
  const name2 = `a packed image with chunk ${chunk} corrupted`;
  if (!r2.ok) problems.push(`${name2}: no E${Err.BOOT_REVERTED} then started line within 60 s (lives: ${r2.lives}; last lines: ${r2.lines.slice(-4).join(" / ")})`);
  else if (app2.matches !== current) problems.push(`${name2}: the app region holds v${app2.version} afterwards, not v${v} byte for byte`);
  else if (out2.outcome !== Outcome.REVERTED || out2.imageId !== bad.session.imageId) problems.push(`${name2}: the journal says outcome ${out2.outcome} for image ${out2.imageId}, not image ${bad.session.imageId} reverted`);
  else {
    log(`${name2} (v${w}, download digest over the corrupted bytes): the journal's install from about ${r2.installFrom} to ${r2.installTo} ms, started line at ${r2.startedAt} ms; lives ${r2.lives}; v${v} runs again, byte for byte`);
    log(`  its lines: ${r2.lines.filter((l) => /meterline/.test(l)).join(" / ")}`);
  }
  return { problems, current };
}

/** npm run bench:real -- --espruino PATH --boot: one meter provisioned with flash.sh, then revertChecks and packedChecks on it. */
export async function bootRun(o: { espruino: string; keep?: string; build: boolean }, log: (s: string) => void): Promise<string[]> {
  interpreter("--espruino", o.espruino); // before the build and the folders (a usage error)
  const dir = o.keep ? resolve(o.keep) : mkdtempSync(join(tmpdir(), "meterline-boot-"));
  mkdirSync(dir, { recursive: true });
  if (o.build) {
    log("npm run build");
    const b = spawnSync("npm", ["run", "--silent", "build"], { stdio: ["ignore", "ignore", "pipe"] });
    if (b.status !== 0) throw new RealError(`npm run build failed: ${b.stderr.toString().trim().split("\n").pop()}`);
  }
  const id = 5001, folder = join(dir, `m${id}`);
  const pty = await ptyPair(dir, `m${id}`);
  const problems: string[] = [];
  let finished = false;
  try {
    const app0 = await provisionMeter(o.espruino, folder, id, pty.board, BOARD, log);
    const current: Image = { bytes: app0.bytes, session: { ...programImage(app0.bytes.subarray(16), { imageId: app0.version, version: app0.version, board: BOARD.code, blockSize: 200 }).session } };
    log(`meter ${id}: flash.sh left v${app0.version} (${app0.bytes.length} bytes) in the app region`);
    problems.push(...(await revertChecks(o.espruino, folder, id, current, log)));
    problems.push(...(await packedChecks(o.espruino, folder, id, current, log)).problems);
    finished = true;
    return problems;
  } finally {
    pty.close();
    if (!o.keep && finished && problems.length === 0) rmSync(dir, { recursive: true, force: true });
    else log(`the board's folder is kept in ${dir}`);
  }
}
