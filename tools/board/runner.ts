/*
 * A board played by the Espruino Linux build: the interpreter runs in the board's own folder
 * (its flash is the file espruino.flash there), the runner owns its console (stdin/stdout)
 * and serves it on a TCP port of the board's own, as a USB serial port would; when the
 * process ends (E.reboot() on this build prints "Not implemented" and exits 1: that is the
 * board's reboot) it starts it again, and for nothing else. cut() is a power cut: kill -9.
 * The runner never reverts programs, edits flash or answers for the board.
 *
 *   const b = await startBoard({ espruino: PATH, folder: "run/m7", role: "meter" });
 *   b.url                        // "tcp://127.0.0.1:<port>": flash.sh --port, openConsole({ port })
 *   b.on("line", (line, life) => ...);   b.on("life-end", (life) => ...);
 *   await b.cut();               // power cut now; the board starts again
 *   b.cutAfter(120);             // power cut 120 ms into the life running now (or the next to start)
 *   await b.stop();
 *
 * The console: stdin is a pipe kept open and idle between clients (at end of file the
 * interpreter floods its input queue). Without a TTY the interpreter still echoes input and
 * shows its prompt (tools/console/lines.ts). One TCP client at a time: a second one gets
 * TAKEN_LINE and is closed (after 300 ms, in case the first is leaving). Output while no client is connected is not kept (a UART with
 * nothing attached); every line still reaches the "line" event. The client stays connected
 * across lives, as on a USB-serial adapter: it sees the banner of the next life.
 */
import { EventEmitter } from "node:events";
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdirSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { LineSplitter, TAKEN_LINE } from "../console/lines";

export class BoardError extends Error {}

/** Console input pace: 64 bytes every 20 ms, about 3 kB/s: at 8 kB/s a busy Linux build still garbled an image upload now and then (bench:real). */
const INPUT_SLICE = 64, INPUT_PACE_MS = 20;

export interface BoardOptions {
  /** The Espruino Linux build (an executable). */
  espruino: string;
  /** The board's folder, created if missing: the interpreter's working folder, where espruino.flash lives. */
  folder: string;
  /** A label for logs. */
  role?: "meter" | "concentrator";
  /** TCP port of the console; 0 (default) picks a free one (see Board.port). */
  consolePort?: number;
  /** Address the console listens on; default 127.0.0.1. */
  host?: string;
  /** Power cuts at random: each life is cut at a uniformly random moment this many ms after its start, unless it ended before. */
  cutRandom?: { minMs: number; maxMs: number };
  /** Pause between a life's end and the next start (the board's power coming back); default 50 ms. */
  restartDelayMs?: number;
  /** Extra arguments for the interpreter. */
  args?: string[];
}

/** One run of the interpreter, from start to end. */
export interface Life {
  /** 1 for the first. */
  n: number;
  pid: number;
  /** Date.now() at the start and the end. */
  start: number;
  end?: number;
  /** How it ended: "exit" (the process ended by itself: code, or a signal it got elsewhere), "cut" (kill -9 by the runner: a power cut), "stop" (the runner stopped). */
  how?: "exit" | "cut" | "stop";
  code?: number | null;
  signal?: string | null;
  /** The process said "Not implemented" just before exiting with 1: E.reboot(). */
  reboot?: boolean;
}

/**
 * Events: "life-start" (life), "life-end" (life), "line" (line: string, life) for every
 * console output line (cleaned: no prompt, echo kept), "stderr" (line, life) for the
 * interpreter's own messages, "client" (address: string), "client-end" (address), "error" (Error).
 */
export class Board extends EventEmitter {
  readonly lives: Life[] = [];
  private proc: ChildProcess | null = null;
  private current: Life | null = null;
  private client: Socket | null = null;
  private stopped = false;
  private cutNow = false;
  private cutTimer: NodeJS.Timeout | null = null;
  private armed: number | null = null;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(readonly o: BoardOptions, private readonly server: Server) {
    super();
  }

  /** The console's TCP port. */
  get port(): number { return (this.server.address() as AddressInfo).port; }
  /** tcp://host:port of the console, for flash.sh --port and openConsole. */
  get url(): string { return `tcp://${this.o.host ?? "127.0.0.1"}:${this.port}`; }
  /** The life running now, or null between lives. */
  get life(): Life | null { return this.current; }
  get running(): boolean { return this.proc !== null; }

  /** Starts a life (used by startBoard and after each end). */
  startLife(): void {
    if (this.stopped || this.proc) return;
    const p = spawn(this.o.espruino, this.o.args ?? [], { cwd: this.o.folder, stdio: ["pipe", "pipe", "pipe"] });
    const life: Life = { n: this.lives.length + 1, pid: p.pid ?? -1, start: Date.now() };
    this.proc = p;
    this.current = life;
    this.lives.push(life);
    let lastLine = "";
    const out = new LineSplitter((l) => { lastLine = l; this.emit("line", l, life); });
    const err = new LineSplitter((l) => this.emit("stderr", l, life));
    p.stdout!.on("data", (b: Buffer) => {
      if (this.client && this.proc === p) this.client.write(b);
      out.push(b.toString("latin1"));
    });
    p.stderr!.on("data", (b: Buffer) => err.push(b.toString("latin1")));
    p.stdin!.on("error", () => undefined); // EPIPE when it dies with input pending: the exit handler reports
    p.on("error", (e) => {
      const err = new BoardError(`cannot run ${this.o.espruino}: ${e.message}`);
      if (this.proc === p && p.pid === undefined) {
        // it never started, so no exit follows: the board stays off (starting it again would
        // fail the same way) and the life ends here
        this.proc = null;
        this.current = null;
        this.pending = [];
        life.end = Date.now();
        life.how = "exit";
        life.code = null;
        life.signal = null;
        this.emit("life-end", life);
      }
      // an "error" with no listener would end the host process
      if (this.listenerCount("error")) this.emit("error", err); else process.emitWarning(err.message);
    });
    p.on("exit", (code, signal) => {
      if (this.cutTimer) { clearTimeout(this.cutTimer); this.cutTimer = null; }
      life.end = Date.now();
      life.code = code;
      life.signal = signal;
      life.how = this.stopped ? "stop" : this.cutNow ? "cut" : "exit";
      life.reboot = code === 1 && /Not implemented/.test(lastLine + "\n" + out.pending());
      this.cutNow = false;
      this.proc = null;
      this.pending = []; // input typed into a life that ended is lost with it
      this.current = null;
      this.emit("life-end", life);
      if (!this.stopped) this.restartTimer = setTimeout(() => { this.restartTimer = null; this.startLife(); }, this.o.restartDelayMs ?? 50);
    });
    this.emit("life-start", life);
    const r = this.o.cutRandom;
    if (this.armed !== null) { this.scheduleCut(life, this.armed); this.armed = null; }
    else if (r) this.scheduleCut(life, r.minMs + Math.random() * (r.maxMs - r.minMs));
  }

  private scheduleCut(life: Life, atMs: number): void {
    if (this.cutTimer) clearTimeout(this.cutTimer);
    this.cutTimer = setTimeout(() => { this.cutTimer = null; if (this.current === life) this.kill(); }, Math.max(0, life.start + atMs - Date.now()));
  }

  private kill(): void {
    if (!this.proc) return;
    this.cutNow = true;
    this.proc.kill("SIGKILL");
  }

  private waitEnd(): Promise<Life> {
    return new Promise((resolve) => this.once("life-end", resolve));
  }

  /** A power cut now (kill -9); resolves with the life it ended (null between lives). The board starts again. */
  cut(): Promise<Life | null> {
    if (!this.proc) return Promise.resolve(null);
    const end = this.waitEnd();
    this.kill();
    return end;
  }

  /**
   * A power cut `ms` after the start of the life running now (at once if that moment has
   * passed), or, between lives, of the next life to start; with { next: true }, always of
   * the next life. Resolves with that life when it ends (how: "cut", or "exit" when it ended
   * by itself first).
   */
  cutAfter(ms: number, o: { next?: boolean } = {}): Promise<Life> {
    if (this.current && !o.next) {
      const life = this.current;
      this.scheduleCut(life, ms);
      return this.endOf(life);
    }
    this.armed = ms;
    return new Promise((resolve) => this.once("life-start", (l: Life) => resolve(this.endOf(l))));
  }

  /** Resolves when `life` has ended. */
  endOf(life: Life): Promise<Life> {
    if (life.end !== undefined) return Promise.resolve(life);
    return new Promise((resolve) => {
      const on = (l: Life) => { if (l === life) { this.off("life-end", on); resolve(l); } };
      this.on("life-end", on);
    });
  }

  /**
   * Writes to the interpreter's stdin as a console client would (nothing between lives), at
   * a slow serial port's pace: INPUT_SLICE bytes every INPUT_PACE_MS. Handed its input all at
   * once, the Linux build garbled an upload now and then while other interpreters kept the
   * host busy (measured in bench:real: `F.?write(...`, a boot routine provisioned broken);
   * its console input is read by a thread of its own, a board's by a UART that paces itself.
   */
  input(data: string | Uint8Array): void {
    if (!this.proc) return;
    this.pending.push(typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data));
    if (!this.pump) this.pumpInput();
  }

  private pending: Buffer[] = [];
  private pump: NodeJS.Timeout | null = null;

  private pumpInput(): void {
    this.pump = null;
    const p = this.proc;
    if (!p) { this.pending = []; return; }
    let room = INPUT_SLICE;
    while (room > 0 && this.pending.length) {
      const b = this.pending[0];
      const n = Math.min(room, b.length);
      p.stdin!.write(b.subarray(0, n));
      room -= n;
      if (n === b.length) this.pending.shift(); else this.pending[0] = b.subarray(n);
    }
    if (this.pending.length) this.pump = setTimeout(() => this.pumpInput(), INPUT_PACE_MS);
  }

  /**
   * @internal the TCP console's connections. A client that comes while another is connected
   * waits 300 ms (the other may be leaving: flash.sh's check connects as the espruino CLI
   * closes) and is then refused with TAKEN_LINE.
   */
  accept(sock: Socket, waited = false): void {
    const who = `${sock.remoteAddress}:${sock.remotePort}`;
    sock.on("error", () => undefined);
    if (this.client && !waited) { setTimeout(() => this.accept(sock, true), 300); return; }
    if (this.client || this.stopped) {
      sock.end(TAKEN_LINE + "\r\n");
      setTimeout(() => sock.destroy(), 1000).unref();
      return;
    }
    this.client = sock;
    sock.setNoDelay(true);
    this.emit("client", who);
    sock.on("data", (b: Buffer) => this.input(b));
    sock.on("close", () => { if (this.client === sock) { this.client = null; this.emit("client-end", who); } });
  }

  /** Stops the board for good: kill -9 (the interpreter ignores SIGTERM), closes the console. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.cutTimer) clearTimeout(this.cutTimer);
    const ended = this.proc ? this.waitEnd() : Promise.resolve(null);
    this.proc?.kill("SIGKILL");
    await ended;
    this.client?.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** Starts a board: its console listening and its first life started. Throws BoardError. */
export async function startBoard(o: BoardOptions): Promise<Board> {
  try { accessSync(o.espruino, constants.X_OK); } catch { throw new BoardError(`--espruino ${o.espruino}: not an executable file`); }
  const r = o.cutRandom;
  if (r && !(r.minMs >= 0 && r.maxMs >= r.minMs)) throw new BoardError(`cutRandom: need 0 <= min <= max, got ${r.minMs}-${r.maxMs}`);
  mkdirSync(o.folder, { recursive: true });
  let board: Board | null = null;
  const server = createServer((s) => { if (board) board.accept(s); else s.destroy(); });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => reject(new BoardError(`console port ${o.consolePort ?? 0}: ${e.code ?? e.message}`)));
    server.listen(o.consolePort ?? 0, o.host ?? "127.0.0.1", () => resolve());
  });
  board = new Board(o, server);
  board.startLife();
  return board;
}
