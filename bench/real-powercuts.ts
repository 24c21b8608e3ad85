/*
 * npm run bench:real -- --espruino PATH --powercuts N: power cuts during the boot routine's
 * install, on the real interpreter. One meter, provisioned with flash.sh under a board
 * runner. Each trial stages the next version straight into the stopped board's flash file
 * (bench/real-parts.ts, stageUpdate: what a finished download leaves), starts the board,
 * and cuts its power (kill -9) one to three times at random moments around the install;
 * then lets it start. Every version's body is shifted against the last one's, so every
 * flash unit of the app region changes.
 *
 * Only cuts that land between the install's start and its end (the journal says START
 * without DONE, FAILED or REVERTED when the process dies) count towards N. After each trial
 * the board must print its started line (else: bricked) and its app region must be the old
 * or the new image byte for byte (else: mixed). Exits 0 with 0 bricked and 0 mixed.
 */
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { startBoard, type Board, type Life } from "../tools/board/runner";
import { loadProfile } from "../tools/profiles/profiles";
import { interpreter } from "../tools/cli/cli";
import { appRegion, installStage, provisionMeter, ptyPair, readFlashFile, RealError, stageUpdate } from "./real-parts";
import { programVersion, type RealOptions } from "./real";
import type { Image } from "./image";

const BOARD = loadProfile("LINUX");
const METER = 4001;

export async function powerCutRun(o: RealOptions & { cuts: number }, log: (s: string) => void): Promise<string[]> {
  interpreter("--espruino", o.espruino); // before the build and the folders (a usage error)
  const dir = o.keep ? resolve(o.keep) : mkdtempSync(join(tmpdir(), "meterline-cuts-"));
  mkdirSync(dir, { recursive: true });
  if (o.build) {
    const b = spawnSync("npm", ["run", "--silent", "build"], { stdio: ["ignore", "ignore", "pipe"] });
    if (b.status !== 0) throw new RealError(`npm run build failed: ${b.stderr.toString().trim().split("\n").pop()}`);
  }
  const folder = join(dir, `m${METER}`);
  const pty = await ptyPair(dir, `m${METER}`);
  const problems: string[] = [];
  let board: Board | null = null;
  const startedLine = `meterline: meter ${METER} started`;
  let finished = false;
  const tally = { trials: 0, cuts: 0, counted: 0, before: 0, after: 0, bricked: 0, mixed: 0, newRuns: 0, oldRuns: 0 };
  try {
    // the old image of the first trial: the program flash.sh provisioned
    const app0 = await provisionMeter(o.espruino, folder, METER, pty.board, BOARD, log);
    let current: Image = { bytes: app0.bytes, session: { ...programVersion(1).session, version: app0.version } };
    let version = Math.max(2, app0.version + 1);
    // the install's window, measured on a trial without cuts: when the journal shows START and the end
    let window = { from: 0, to: 400 };
    for (let trial = 0; tally.counted < o.cuts; trial++) {
      const next = programVersion(version++);
      stageUpdate(folder, BOARD, next, current.session.version);
      const b: Board = board = await startBoard({ espruino: o.espruino, folder, role: "meter", restartDelayMs: 250 });
      const k = trial === 0 ? 0 : 1 + Math.floor(Math.random() * 3);
      let cutsLeft = k;
      const seen: string[] = [];
      const up = new Promise<boolean>((res) => {
        const t = setTimeout(() => { b.off("line", on); res(false); }, 30_000);
        const on = (l: string, life: Life) => { if (l === startedLine && life.n === k + 1) { clearTimeout(t); b.off("line", on); res(true); } };
        b.on("line", on);
      });
      const arm = () => { if (cutsLeft > 0) b.cutAfter(window.from + Math.floor(Math.random() * (window.to - window.from + 1))); };
      b.on("life-end", (l: Life) => {
        if (l.how !== "cut") return;
        tally.cuts++;
        const st = installStage(readFlashFile(folder, BOARD), BOARD, next.session.imageId);
        if (st === "copying") tally.counted++; else if (st === "none") tally.before++; else tally.after++;
        seen.push(st);
        cutsLeft--;
        arm();
      });
      arm();
      if (trial === 0) {
        // no cut: watch the journal to find when the install runs after a start
        const s0 = Date.now();
        let from = -1, to = -1;
        while (Date.now() - s0 < 5000 && to < 0) {
          const st = installStage(readFlashFile(folder, BOARD), BOARD, next.session.imageId);
          if (st !== "none" && from < 0) from = Date.now() - b.lives[0].start;
          if (st === "ended") to = Date.now() - b.lives[0].start;
          await new Promise((r) => setTimeout(r, 2));
        }
        if (to < 0) throw new RealError("the install of the first staged image did not end within 5 s");
        window = { from: Math.max(0, from - 60), to: to + 60 };
        log(`install window: the journal shows START at about ${from} ms and its end at about ${to} ms after the start; cuts fall from ${window.from} to ${window.to} ms`);
      }
      const ok = await up;
      await b.stop();
      board = null;
      tally.trials++;
      const after = readFlashFile(folder, BOARD);
      const app = appRegion(after, BOARD, [current, next]);
      if (!ok) { tally.bricked++; problems.push(`trial ${trial}: the meter did not start after ${k} cuts (${seen.join(", ")})`); }
      if (!app.matches) { tally.mixed++; problems.push(`trial ${trial}: the app region (v${app.version}) is neither v${current.session.version} nor v${next.session.version} byte for byte`); }
      else if (app.matches === next) { tally.newRuns++; current = next; } else tally.oldRuns++;
      if (trial % 10 === 0 || tally.counted >= o.cuts) log(`trial ${trial}: ${k} cuts (${seen.join(", ") || "none"}); ${tally.counted} of ${o.cuts} cuts inside an install so far`);
      if (problems.length > 20) break;
    }
    log(`${tally.trials} trials, ${tally.cuts} power cuts: ${tally.counted} inside an install (between its START and its end), ${tally.before} before it, ${tally.after} after it; ${tally.bricked} bricked, ${tally.mixed} mixed; the trial ended running the new image ${tally.newRuns} times, the old one ${tally.oldRuns} times`);
    finished = true;
    return problems;
  } finally {
    if (board) await board.stop();
    pty.close();
    if (!o.keep && finished && problems.length === 0) rmSync(dir, { recursive: true, force: true });
    else log(`the board's folder is kept in ${dir}`);
  }
}
