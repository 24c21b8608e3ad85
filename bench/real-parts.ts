/*
 * Parts of the real-interpreter bench (bench/real.ts): pseudo-terminal pairs for the
 * boards' modem lines, flash.sh as a user runs it, the flash file of a board played by
 * the Espruino Linux build (espruino.flash in its folder: the LINUX profile's fake flash),
 * and an update staged straight into that file. Host code.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MockFlash } from "../hal/mock/flash";
import { hostNative } from "../hal/host/native";
import { MockUart } from "../hal/mock/uart";
import { recordLog } from "../firmware/common/records";
import { decodeAppHeader } from "../firmware/common/image";
import { APP_HEADER_SIZE } from "../firmware/common/layout";
import { getU32 } from "../firmware/common/bytes";
import { JR_DONE, JR_FAILED, JR_REVERTED, JR_START, REC_ACTIVATE, REC_CONFIRM, STATE_SLOT } from "../firmware/common/update-image";
import { updateReceiver } from "../firmware/meter/update";
import { Rec } from "../firmware/meter/metering";
import { REG_SLOT } from "../firmware/meter/meter";
import { meterDecoder, type BoardProfile } from "../tools/profiles/profiles";
import { modemOnLine, type LinkRig } from "./rig";
import { openPort, type Port } from "./hil";
import type { Image } from "./image";
import { describeErr } from "../tools/errors/table";
import { startBoard } from "../tools/board/runner";

/** A step of the bench that did not go as it must: the run stops with this reason. */
export class RealError extends Error {}

/** The flash file a Linux-build board keeps in its folder. */
export const FLASH_FILE = "espruino.flash";

export interface PtyPair { board: string; bench: string; proc: ChildProcess; close(): void }

/** A socat pseudo-terminal pair: `board` for the board's --modem-path, `bench` for the host's end of the line. */
export async function ptyPair(dir: string, name: string): Promise<PtyPair> {
  const board = join(dir, `${name}-board`), bench = join(dir, `${name}-bench`);
  const proc = spawn("socat", [`pty,raw,echo=0,link=${board}`, `pty,raw,echo=0,link=${bench}`], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (b: Buffer) => { err += b.toString(); });
  const spawnError = new Promise<never>((_, reject) => proc.once("error", (e) => reject(new RealError(`socat: ${e.message} (install it: apt-get install socat)`))));
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      if (existsSync(board) && existsSync(bench)) return;
      if (proc.exitCode !== null) throw new RealError(`socat ended at once: ${err.trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new RealError("socat made no pseudo-terminals within 5 s");
  })();
  await Promise.race([ready, spawnError]);
  return { board, bench, proc, close: () => { proc.kill("SIGKILL"); } };
}

/** Runs ./flash.sh with `args`; resolves with its output, rejects with a RealError naming its reason. */
export function runFlash(args: string[], timeoutMs = 180_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn("./flash.sh", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout!.on("data", (b: Buffer) => { out += b.toString(); });
    p.stderr!.on("data", (b: Buffer) => { out += b.toString(); });
    const t = setTimeout(() => { p.kill("SIGKILL"); reject(new RealError(`flash.sh ${args.join(" ")}: still running after ${timeoutMs / 1000} s`)); }, timeoutMs);
    p.on("exit", (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new RealError(`flash.sh ${args.join(" ")} exited ${code}: ${out.trim().split("\n").slice(-3).join(" / ")}`));
    });
  });
}

/**
 * Meter `id` provisioned in `folder` as a user does it: a board runner on the Linux build,
 * flash.sh through its console (the modem on `modemPath`), the runner stopped again.
 * Returns the program flash.sh left in the app region; a RealError when there is none.
 */
export async function provisionMeter(espruino: string, folder: string, id: number, modemPath: string, p: BoardProfile, log: (s: string) => void): Promise<{ version: number; bytes: Uint8Array }> {
  const board = await startBoard({ espruino, folder, role: "meter" });
  try {
    log(`meter ${id}: runner on ${board.url}; flash.sh`);
    await runFlash(["--board", p.board, "--role", "meter", "--id", String(id), "--modem-path", modemPath, "--port", board.url, "--no-build", "--check-timeout", "120"]);
  } finally {
    await board.stop();
  }
  const app0 = appRegion(readFlashFile(folder, p), p, []);
  if (!app0.version) throw new RealError("flash.sh left no program in the app region");
  return app0;
}

/** The board's flash as the interpreter left it (read-only view; the NOR rules are not checked). */
export function readFlashFile(folder: string, p: BoardProfile): MockFlash {
  const f = join(folder, FLASH_FILE);
  if (!existsSync(f)) throw new RealError(`${f} is missing: the board was never started`);
  const bytes = readFileSync(f);
  if (bytes.length !== p.flash.size) throw new RealError(`${f} is ${bytes.length} bytes, the ${p.board} profile says ${p.flash.size}`);
  return new MockFlash(p.flash, new Uint8Array(bytes));
}

/** The program the app region holds: its header's version and whether it is byte for byte `img`. */
export function appRegion(flash: MockFlash, p: BoardProfile, candidates: Image[]): { version: number; bytes: Uint8Array; matches: Image | null } {
  const app = p.regions.app!;
  const h = decodeAppHeader(flash.read(app.addr, APP_HEADER_SIZE), app.size);
  if (!h) return { version: 0, bytes: new Uint8Array(0), matches: null };
  const bytes = flash.read(app.addr, APP_HEADER_SIZE + h.length);
  const same = (img: Image) => Buffer.compare(Buffer.from(img.bytes), Buffer.from(bytes)) === 0;
  return { version: h.version, bytes, matches: candidates.find(same) ?? null };
}

/** The meter's state log says the new program confirmed itself (CONFIRM newer than ACTIVATE, for `imageId`). */
export function confirmedIn(flash: MockFlash, p: BoardProfile, imageId: number): boolean {
  const log = recordLog(flash, p.regions.state!, STATE_SLOT, true, hostNative);
  let act = -1, conf = -1;
  log.forEach((t, seq) => { if (t === REC_ACTIVATE) act = seq; else if (t === REC_CONFIRM) conf = seq; });
  const c = log.read(REC_CONFIRM);
  return conf > act && !!c && (c[0] | (c[1] << 8)) === imageId;
}

/** The pulse count the meter has saved in its registers region (what a power cut keeps). */
export function savedPulses(folder: string, p: BoardProfile): number {
  const r = recordLog(readFlashFile(folder, p), p.regions.registers!, REG_SLOT, true, hostNative).read(Rec.REG);
  return r ? getU32(r, 0) : 0;
}

/** Where the boot routine's journal stands for `imageId`: not started, copying (START without an end), or ended. */
export function installStage(flash: MockFlash, p: BoardProfile, imageId: number): "none" | "copying" | "ended" {
  const jr = p.regions.journal!;
  let stage: "none" | "copying" | "ended" = "none";
  for (let a = jr.addr; a + 8 <= jr.addr + jr.size; a += 8) {
    const w = flash.read(a, 8), v = getU32(w, 0);
    if ((~v >>> 0) !== getU32(w, 4)) continue;
    const tag = (v & 0xf0000000) >>> 0;
    // only the image's own START and end records say where it stands (UNIT records carry unit numbers)
    if ((v & 0xffff) !== imageId) continue;
    if (tag === JR_START) stage = "copying";
    else if (tag === JR_DONE || tag === JR_FAILED || tag === JR_REVERTED) stage = "ended";
  }
  return stage;
}

/**
 * Stages an update straight into a stopped board's flash file, as the meter program would
 * have left it: the session, every block in the buffer, the activation. The next start's
 * boot routine installs it. `running` is the version the board runs now.
 */
export function stageUpdate(folder: string, p: BoardProfile, img: Image, running: number): void {
  const flash = readFlashFile(folder, p);
  const journal = recordLog(flash, p.regions.state!, STATE_SLOT, true, hostNative);
  const rx = updateReceiver(flash, hostNative, p.regions.buffer!, journal, { version: running, floor: 0, board: p.code, maxImage: p.maxImageSize, rows: p.repairRows, decoder: meterDecoder(p), unpacks: true });
  const s = img.session;
  let e = rx.control(s, true);
  for (let i = 0; !e && i < s.blockCount; i++) e = rx.block(s.imageId, i, img.bytes.subarray(i * s.blockSize, Math.min(img.bytes.length, (i + 1) * s.blockSize)));
  if (!e) e = rx.activate(s.imageId);
  if (e) throw new RealError(`staging image ${s.imageId} (v${s.version}) in ${folder}: the meter's receiver said ${describeErr(e)}`);
  writeFileSync(join(folder, FLASH_FILE), flash.bytes);
}

export interface Bridge {
  /** Closes the host's end of the board's line and opens it again (what a reconnected cable or a restarted bench does). */
  reopen(): Promise<void>;
  close(): void;
  counts(): { rx: number; tx: number };
}

/**
 * Puts a board's modem line (the bench end of its pseudo-terminal pair) on the rig's line
 * as node `name`: the host plays its ST7580, on the simulated line with its loss model.
 */
export async function bridgeLine(rig: LinkRig, name: string, path: string, seed: number): Promise<Bridge> {
  const uart = new MockUart({ kind: "whole" });
  uart.setup(57600);
  let port: Port | null = await openPort(path);
  const total = { rx: 0, tx: 0 };
  const wire = (pt: Port) => pt.onData((b) => { if (port === pt) uart.write(Buffer.from(b).toString("latin1")); });
  wire(port);
  uart.onData((s) => { if (port) port.write(Buffer.from(s, "latin1")); });
  modemOnLine(rig, name, rig.clock.scope(), uart, null, null, seed);
  const add = (pt: Port) => { total.rx += pt.counts.rx; total.tx += pt.counts.tx; };
  return {
    async reopen() {
      const old = port!;
      port = null;
      add(old);
      old.close();
      await new Promise((r) => setTimeout(r, 500));
      const pt = await openPort(path);
      port = pt;
      wire(pt);
    },
    close() { if (port) { add(port); port.close(); port = null; } },
    counts: () => ({ rx: total.rx + (port?.counts.rx ?? 0), tx: total.tx + (port?.counts.tx ?? 0) }),
  };
}
