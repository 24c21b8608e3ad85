/*
 * A session on a board's Espruino console, over a serial device (the serialport package) or
 * tcp://host:port (a board runner, tools/board, or anything serving a console on TCP). It is
 * built for long use (a head-end keeps one per concentrator): commands one at a time with a
 * timeout each, every other line streamed to listeners, reconnection when the link drops.
 *
 *   const s = await openConsole({ port: "tcp://127.0.0.1:4001" });
 *   s.on("unsolicited", (line) => ...);              // lines no command asked for
 *   const a = await s.command("meterline.progress()"); // { lines: ["meterline: campaign ..."], value: "0" }
 *   await s.writeFile("img.bin", bytes);              // checked by length and CRC-32 read back
 *   await s.close();
 *
 * How an answer's end is found: after the command the session sends a second line,
 * DLE + print("#ml-end-" + "<session>-<n>#"); the interpreter runs input lines in order, so
 * when that marker line comes back everything the command printed while it ran has come. The
 * command's echo, its "=value" and the prompts are taken out of the answer (tools/console/lines.ts
 * says what the interpreter writes). Before each command the session sends ESC [ 2 H, which
 * clears any half-typed input a previous client or a timed-out command left; it never sends
 * Ctrl-C (on the Linux build two Ctrl-C on an empty line within 5 s end the interpreter, and on
 * every build Ctrl-C removes the interval or watch that is running), nor Ctrl-D (the Linux
 * build exits on it).
 *
 * resync() brings back a console that stopped answering: rounds of RESYNC_FILL (NUL and BEL,
 * which the console ignores), ESC [ 2 H and an empty command, until one is answered. What it is
 * for (measured, docs/walkthrough.md Limitations): the Linux build's input thread appends
 * console characters to the event FIFO (src/jsdevices.c) with no lock against the main loop
 * (jshInterruptOff() is empty there); when the main loop takes the event being appended to,
 * the character is left where the next event's length byte should be, and the main loop from
 * then on reads old FIFO bytes as events: it replays stale console input (lines of millions of
 * characters, old commands run again), hands bytes to Serial1, and goes round a cycle that
 * never reaches the new input, so no command is answered. Only bytes the input thread writes
 * into the FIFO can put the reading end back on an event boundary: RESYNC_FILL gives a
 * misplaced reader short steps (a NUL read as a length is a 0-byte event, a BEL a 7-byte one)
 * until it reaches an event the input thread wrote, and from there the chain leads to the new
 * input. writeFile uses it when a chunk goes unanswered. This was measured on the Linux build
 * only; on any board the fill is input its console ignores.
 *
 * Errors are ConsoleError with a code: UNREACHABLE (cannot connect, or the link is down past
 * the timeout), TAKEN (another client has the console: the runner says so, or the serial
 * device is locked), NO_ANSWER (no end of answer within the timeout; from resync(), none to
 * any round within its time), CLOSED (the session was
 * closed, or the link dropped during the command), REBOOTED (the board's banner came during
 * the command and no answer followed within the timeout), WRITE_FAILED (writeFile: a chunk refused or the read-back
 * differs), BAD_ARGUMENT.
 */
import { EventEmitter } from "node:events";
import { connect as netConnect, type Socket } from "node:net";
import { crc32 } from "node:zlib";
import { BANNER, LineSplitter, TAKEN_LINE } from "./lines";

export type ConsoleErrorCode = "UNREACHABLE" | "TAKEN" | "NO_ANSWER" | "CLOSED" | "REBOOTED" | "WRITE_FAILED" | "BAD_ARGUMENT";

export class ConsoleError extends Error {
  constructor(readonly code: ConsoleErrorCode, message: string) {
    super(message);
    this.name = "ConsoleError";
  }
}

/** resync() found no answer: `why` without the port. */
class ResyncError extends ConsoleError {
  constructor(port: string, readonly why: string) { super("NO_ANSWER", `${port}: ${why}`); }
}

/** What a command produced. */
export interface Answer {
  /** The lines it printed, without its echo, its "=value" and prompts. */
  lines: string[];
  /** The REPL's value ("=0" gives "0"; objects keep their line breaks); undefined when it threw or was sent without echo. */
  value?: string;
  /** The first "Uncaught ..." line when it threw. */
  error?: string;
}

export interface SessionOptions {
  /** A serial device path (/dev/ttyACM0) or tcp://host:port. */
  port: string;
  /** Serial only; default 9600 (USB consoles ignore it). */
  baudRate?: number;
  /** How long one connection attempt may take; default 3000 ms. */
  connectTimeoutMs?: number;
  /** Reconnect after the link drops (a serial device vanished, the runner restarted); default true. */
  reconnect?: boolean;
  /** Default timeout of a command; default 5000 ms. */
  timeoutMs?: number;
}

export interface CommandOptions {
  /** Default: the session's (5000 ms). Counts from the command's turn, including waiting for a link. */
  timeoutMs?: number;
  /**
   * true (default): sent as typed, so the interpreter answers with "=value" (its echo is
   * taken out). false: sent after DLE: no echo and no value, only what it prints.
   */
  echo?: boolean;
}

export type PortAddress = { kind: "tcp"; host: string; port: number } | { kind: "serial"; path: string };

/** tcp://host:port or an absolute device path. Throws ConsoleError BAD_ARGUMENT. */
export function parsePort(port: string): PortAddress {
  const m = /^tcp:\/\/([^:/]+):(\d+)$/.exec(port);
  if (m) {
    const n = Number(m[2]);
    if (n < 1 || n > 65535) throw new ConsoleError("BAD_ARGUMENT", `${port}: the TCP port must be 1 to 65535`);
    return { kind: "tcp", host: m[1], port: n };
  }
  if (port.startsWith("/")) return { kind: "serial", path: port };
  throw new ConsoleError("BAD_ARGUMENT", `"${port}" is neither a serial device path (/dev/...) nor tcp://host:port`);
}

/** A byte link to the console: latin1 strings both ways. */
interface Link {
  write(data: string): void;
  close(): void;
  onData(f: (s: string) => void): void;
  /** Called once when the link ends for any reason. */
  onEnd(f: (why: string) => void): void;
}

function tcpLink(host: string, port: number, timeoutMs: number): Promise<Link> {
  return new Promise((resolve, reject) => {
    const s: Socket = netConnect({ host, port });
    const where = `tcp://${host}:${port}`;
    const timer = setTimeout(() => { s.destroy(); reject(new ConsoleError("UNREACHABLE", `${where}: no connection within ${timeoutMs} ms`)); }, timeoutMs);
    s.once("error", (e: NodeJS.ErrnoException) => { clearTimeout(timer); reject(new ConsoleError("UNREACHABLE", `${where}: ${e.code ?? e.message}`)); });
    s.once("connect", () => {
      clearTimeout(timer);
      s.removeAllListeners("error");
      s.setNoDelay(true);
      let ended = false, why = "closed by the other end";
      const ends: ((why: string) => void)[] = [];
      s.on("error", (e: NodeJS.ErrnoException) => { why = e.code ?? e.message; });
      s.on("close", () => { if (!ended) { ended = true; for (const f of ends) f(why); } });
      resolve({
        write: (d) => { s.write(Buffer.from(d, "latin1")); },
        close: () => { ended = true; s.destroy(); },
        onData: (f) => { s.on("data", (b: Buffer) => f(b.toString("latin1"))); },
        onEnd: (f) => { ends.push(f); },
      });
    });
  });
}

async function serialLink(path: string, baudRate: number): Promise<Link> {
  let SerialPort: typeof import("serialport").SerialPort;
  try {
    ({ SerialPort } = await import("serialport"));
  } catch (e) {
    throw new ConsoleError("UNREACHABLE", `${path}: the serialport package cannot be loaded (${(e as Error).message})`);
  }
  const p = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => p.open((e) => {
    if (!e) return resolve();
    const m = e.message.replace(/^Error: /, "");
    reject(new ConsoleError(/lock|busy/i.test(m) ? "TAKEN" : "UNREACHABLE", `${path}: ${m}`));
  }));
  let ended = false, why = "closed";
  const ends: ((why: string) => void)[] = [];
  p.on("error", (e: Error) => { why = e.message; });
  p.on("close", (e?: Error & { disconnected?: boolean }) => {
    if (e) why = e.disconnected ? "the device went away" : e.message;
    if (!ended) { ended = true; for (const f of ends) f(why); }
  });
  return {
    write: (d) => { p.write(Buffer.from(d, "latin1")); },
    close: () => { ended = true; if (p.isOpen) p.close(); },
    onData: (f) => { p.on("data", (b: Buffer) => f(b.toString("latin1"))); },
    onEnd: (f) => { ends.push(f); },
  };
}

/** How long one chunk of writeFile may go unanswered, and how often it is sent before writeFile gives up. */
const CHUNK_ANSWER_MS = 15000, CHUNK_TRIES = 3;

/**
 * resync(): what each round sends before ESC [ 2 H and its empty command, and how long a round
 * waits for its answer (at most the command timeout). 512 bytes: longer than any jump a stale
 * length byte makes (255 + 2), so a misplaced reader lands in the fill rather than over it, and
 * about what the Linux build's input thread takes into its 1,024-byte FIFO at a time (it reads
 * while the FIFO holds under 511). NUL resets the console's input state and adds nothing to the
 * line (src/jsinteractive.c: "ignore 0"); BEL (7) is ignored the same way; a BEL read as a
 * length moves the reader 9 bytes, not 2, so it cannot stay on the odd or the even bytes of
 * the fill and walk past every event start. In the model of the FIFO (test/tools/console-
 * session-brings-back-a-linux-console-whose-input-fifo-lost-its-place.test.ts), of 200 FIFOs
 * the race left misplaced, one round brought back 1 with ESC [ 2 H alone, 125 with 512 NULs
 * and all 200 with this fill.
 */
export const RESYNC_FILL = "\0\0\0\x07".repeat(128);
const RESYNC_ROUND_MS = 3000;
/**
 * How long writeFile waits for an unanswering console to come back (resync), in command
 * timeouts: 300 s with deploy's default 60 s. Measured on a 2v29 Linux concentrator whose FIFO
 * had lost its place: 178 s (it then ran a 41,862,811-character line made of stale input).
 */
const RESYNC_TIMEOUTS = 5;

const MARKER = /^#ml-end-[0-9a-z]+-\d+#$/;

interface Window {
  js: string;
  echo: boolean;
  marker: string;
  lines: string[];
  /** The board's banner came while it was open. */
  rebooted?: boolean;
  resolve: (a: Answer) => void;
  reject: (e: ConsoleError) => void;
  timer: NodeJS.Timeout;
}

/**
 * Events: "line" (line: string, inCommand: boolean) for every console line as it comes;
 * "unsolicited" (line) for lines outside any answer; "connect" (after a reconnection);
 * "disconnect" (error: ConsoleError); "reboot" (the interpreter's banner came); "retry"
 * (why: string, attempt: number) when writeFile sends a chunk again or starts a file again;
 * "resync" (rounds: number, ms: number) when resync() got an answer after more than one round.
 */
export class ConsoleSession extends EventEmitter {
  readonly port: string;
  private readonly addr: PortAddress;
  private readonly o: Required<Omit<SessionOptions, "port">>;
  private link: Link | null = null;
  private closed = false;
  private lastError: ConsoleError | null = null;
  private taken = false;
  private window: Window | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private readonly tag = Math.floor(Math.random() * 36 ** 6).toString(36);
  private retry: NodeJS.Timeout | null = null;
  private backoffMs = 100;
  private readonly splitter = new LineSplitter((l) => this.onLine(l));

  constructor(o: SessionOptions) {
    super();
    this.port = o.port;
    this.addr = parsePort(o.port);
    this.o = { baudRate: o.baudRate ?? 9600, connectTimeoutMs: o.connectTimeoutMs ?? 3000, reconnect: o.reconnect ?? true, timeoutMs: o.timeoutMs ?? 5000 };
  }

  get connected(): boolean { return this.link !== null; }

  /** Connects once; rejects with UNREACHABLE or TAKEN. openConsole() calls it. */
  async open(): Promise<void> {
    const link = await this.connectOnce();
    if (this.closed) { link.close(); throw new ConsoleError("CLOSED", `${this.port}: the session was closed`); }
    this.attach(link);
  }

  private connectOnce(): Promise<Link> {
    const a = this.addr;
    return a.kind === "tcp" ? tcpLink(a.host, a.port, this.o.connectTimeoutMs) : serialLink(a.path, this.o.baudRate);
  }

  private attach(link: Link): void {
    this.link = link;
    this.taken = false;
    this.lastError = null;
    this.splitter.reset();
    link.onData((d) => this.splitter.push(d));
    link.onEnd((why) => this.lost(why));
  }

  private lost(why: string): void {
    this.link = null;
    const e = this.taken
      ? new ConsoleError("TAKEN", `${this.port}: the console is in use by another client`)
      : new ConsoleError("CLOSED", `${this.port}: the link dropped (${why})`);
    this.lastError = e.code === "TAKEN" ? e : new ConsoleError("UNREACHABLE", `${this.port}: not connected (${why})`);
    this.fail(e);
    this.emit("disconnect", e);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || !this.o.reconnect || this.retry) return;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 2000);
    this.retry = setTimeout(async () => {
      this.retry = null;
      try {
        const link = await this.connectOnce();
        if (this.closed) { link.close(); return; }
        this.attach(link);
        this.emit("connect");
      } catch (e) {
        if (!this.taken) this.lastError = e instanceof ConsoleError ? e : new ConsoleError("UNREACHABLE", String(e));
        this.scheduleReconnect();
      }
    }, wait);
  }

  private onLine(line: string): void {
    const bare = line.replace(/^>+/, ""); // prompts that piled up before it
    if (MARKER.test(bare)) {
      const w = this.window;
      if (w && bare === w.marker) this.finish(w);
      return; // a marker of a command that timed out: nobody waits for it
    }
    if (line === TAKEN_LINE) {
      // The other end closes after this line; close our side too and treat it as a lost link.
      this.taken = true;
      const l = this.link;
      if (l) { l.close(); this.lost("the console is in use by another client"); }
      return;
    }
    const w = this.window;
    this.emit("line", line, w !== null);
    if (BANNER.test(line)) {
      // A board that has just started shows its banner and then takes what was sent meanwhile;
      // one that restarted while running a command loses it: only the timeout can tell which.
      this.emit("reboot");
      if (w) w.rebooted = true;
    }
    if (w) w.lines.push(line);
    else this.emit("unsolicited", line);
  }

  private fail(e: ConsoleError): void {
    const w = this.window;
    if (!w) return;
    this.window = null;
    clearTimeout(w.timer);
    w.reject(e);
  }

  private finish(w: Window): void {
    this.window = null;
    this.backoffMs = 100; // the link works: a later drop retries quickly again
    clearTimeout(w.timer);
    let lines = w.lines;
    if (w.echo) {
      // The echo: the command's lines, each further one after ":". Lines before it came before the command ran.
      const expect = w.js.split("\n").map((l, i) => (i ? ":" : "") + l);
      const at = lines.findIndex((_, i) => expect.every((x, k) => lines[i + k] === x));
      if (at >= 0) {
        for (const l of lines.slice(0, at)) this.emit("unsolicited", l);
        lines = lines.slice(at + expect.length);
      }
    }
    const a: Answer = { lines };
    if (w.echo) {
      let v = lines.length - 1;
      while (v >= 0 && lines[v].startsWith(" ")) v--;
      if (v >= 0 && lines[v].startsWith("=")) {
        a.value = [lines[v].slice(1), ...lines.slice(v + 1)].join("\n");
        a.lines = lines.slice(0, v);
      }
    }
    const err = a.lines.find((l) => l.startsWith("Uncaught "));
    if (err) a.error = err;
    w.resolve(a);
  }

  private whenConnected(deadline: number): Promise<Link> {
    if (this.closed) return Promise.reject(new ConsoleError("CLOSED", `${this.port}: the session was closed`));
    if (this.link) return Promise.resolve(this.link);
    // Taken, or down for good: waiting would not change the answer.
    if (this.lastError && (this.lastError.code === "TAKEN" || !this.o.reconnect)) return Promise.reject(this.lastError);
    return new Promise((resolve, reject) => {
      const done = () => { clearTimeout(t); this.off("connect", ok); this.off("closed", no); };
      const ok = () => { done(); resolve(this.link!); };
      const no = () => { done(); reject(new ConsoleError("CLOSED", `${this.port}: the session was closed`)); };
      const t = setTimeout(() => { done(); reject(this.lastError ?? new ConsoleError("UNREACHABLE", `${this.port}: not connected`)); }, Math.max(0, deadline - Date.now()));
      this.on("connect", ok);
      this.on("closed", no);
    });
  }

  /** Sends one command (one line, or several that the REPL takes as one statement each) and returns its answer. */
  command(js: string, o: CommandOptions = {}): Promise<Answer> {
    const run = () => this.run(js.replace(/\r\n?/g, "\n"), o);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async run(js: string, o: CommandOptions & { before?: string }): Promise<Answer> {
    const timeoutMs = o.timeoutMs ?? this.o.timeoutMs;
    const echo = o.echo ?? true;
    const link = await this.whenConnected(Date.now() + timeoutMs);
    const token = `${this.tag}-${++this.seq}`;
    const marker = `#ml-end-${token}#`;
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.window?.marker !== marker) return;
        const got = this.window.lines.filter((l) => l.trim()).slice(-1)[0];
        if (this.window.rebooted) this.fail(new ConsoleError("REBOOTED", `${this.port}: the board restarted during ${short(js)} and did not answer it within ${timeoutMs} ms`));
        else this.fail(new ConsoleError("NO_ANSWER", `${this.port}: no answer to ${short(js)} within ${timeoutMs} ms${got !== undefined ? ` (last line: ${got})` : " (nothing came back)"}`));
      }, timeoutMs);
      this.window = { js, echo, marker, lines: [], resolve, reject, timer };
      // The marker is built from two strings so that no echo of this line can look like it.
      link.write(`${o.before ?? ""}\x1b[2H${echo ? "" : "\x10"}${js}\n\x10print(${JSON.stringify("#ml-end-")}+${JSON.stringify(token + "#")})\n`);
    });
  }

  /** Resolves when the board answers an empty command; NO_ANSWER otherwise. */
  async ping(timeoutMs?: number): Promise<void> {
    await this.command("", { echo: false, timeoutMs });
  }

  /**
   * Brings back a console that stopped answering (see the top): a round is RESYNC_FILL, ESC [ 2 H
   * and an empty command, answered within `roundMs` (default 3000 ms, or the session's timeout
   * if shorter); rounds follow each other until one is answered or `timeoutMs` (default: the
   * session's timeout) has passed. Resolves with the rounds it took (1: the console was answering);
   * NO_ANSWER when none was answered in time. Other errors (CLOSED, TAKEN...) end it at once.
   */
  resync(timeoutMs?: number, roundMs?: number): Promise<number> {
    const run = () => this.resyncRounds(timeoutMs ?? this.o.timeoutMs, roundMs ?? Math.min(RESYNC_ROUND_MS, this.o.timeoutMs));
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async resyncRounds(timeoutMs: number, round: number): Promise<number> {
    const t0 = Date.now(), end = t0 + timeoutMs;
    for (let n = 1; ; n++) {
      try {
        await this.run("", { echo: false, timeoutMs: Math.max(1, Math.min(round, end - Date.now())), before: RESYNC_FILL });
        if (n > 1) this.emit("resync", n, Date.now() - t0);
        return n;
      } catch (e) {
        if (!(e instanceof ConsoleError) || e.code !== "NO_ANSWER") throw e;
        if (Date.now() >= end) throw new ResyncError(this.port, `no answer to ${n} rounds of NUL and BEL, ESC [ 2 H and an empty command in ${Math.round((Date.now() - t0) / 1000)} s: the board takes no console input (a LINUX board: stop its interpreter, the runner starts it again)`);
      }
    }
  }

  /** The next line (in an answer or not) that matches; NO_ANSWER after timeoutMs. */
  waitFor(match: RegExp | ((line: string) => boolean), timeoutMs: number): Promise<string> {
    const test = typeof match === "function" ? match : (l: string) => match.test(l);
    return new Promise((resolve, reject) => {
      const done = () => { clearTimeout(t); this.off("line", on); this.off("closed", no); };
      const on = (l: string) => { if (test(l)) { done(); resolve(l); } };
      const no = () => { done(); reject(new ConsoleError("CLOSED", `${this.port}: the session was closed`)); };
      const t = setTimeout(() => { done(); reject(new ConsoleError("NO_ANSWER", `${this.port}: no line matching ${match} within ${timeoutMs} ms`)); }, timeoutMs);
      this.on("line", on);
      this.on("closed", no);
    });
  }

  /**
   * Writes a Storage file, binary-safe: base64 chunks of `chunkBytes` (default 768) through
   * require("Storage").write(name, atob(..), offset, total), each answered with the CRC-32 of
   * what Storage then holds at that place; at the end the whole file is read back and its
   * length and CRC-32 (E.CRC32) compared. A chunk refused or stored differently starts the
   * file again from offset 0 (Storage cannot rewrite written bytes; offset 0 makes a new
   * file), up to `attempts` times (default 3): the Linux build loses or changes a console
   * character now and then while its program is busy (its FIFO, see the top; measured: one in
   * a 34,756-byte image on a running concentrator, which shifted the rest of that chunk's
   * base64). A chunk with no answer within its time (the command timeout, at most 15 s) is
   * sent again, up to 3 times, each time after resync() brought the console back (for up to
   * `resyncMs`, default 5 times `timeoutMs`; NO_ANSWER when it did not) and what Storage holds
   * there was read: a chunk stored already is not sent again, one stored differently starts
   * the file again. An attempt after the first starts with resync() too (one round when the
   * console answers). Returns length and CRC-32; WRITE_FAILED when every attempt failed.
   */
  async writeFile(name: string, bytes: Uint8Array, o: { chunkBytes?: number; timeoutMs?: number; attempts?: number; resyncMs?: number } = {}): Promise<{ length: number; crc: number; attempts: number }> {
    if (!name || name.length > 28) throw new ConsoleError("BAD_ARGUMENT", `Storage file name "${name}" must be 1 to 28 characters`);
    if (bytes.length === 0) throw new ConsoleError("BAD_ARGUMENT", `Storage cannot hold an empty file ("${name}")`);
    const chunk = o.chunkBytes ?? 768;
    if (!Number.isInteger(chunk) || chunk < 3 || chunk % 3) throw new ConsoleError("BAD_ARGUMENT", `chunkBytes must be a positive multiple of 3, got ${chunk}`);
    const attempts = o.attempts ?? 3;
    const n = JSON.stringify(name), total = bytes.length, crc = crc32(bytes) >>> 0;
    const timeoutMs = o.timeoutMs ?? this.o.timeoutMs, answerMs = Math.min(timeoutMs, CHUNK_ANSWER_MS);
    const resync = () => this.resync(o.resyncMs ?? RESYNC_TIMEOUTS * timeoutMs, Math.min(RESYNC_ROUND_MS, answerMs));
    let why = "";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      // a garbled chunk or file can be the Linux build's FIFO losing its place (see the top)
      if (attempt > 1) await resync();
      why = await this.writeOnce(n, bytes, chunk, answerMs, resync);
      if (!why) {
        const a = await this.command(`(function(s){print(s===undefined?"none":s.length+" "+E.CRC32(s))})(require("Storage").read(${n}))`, { echo: false, timeoutMs: o.timeoutMs });
        const got = a.lines[a.lines.length - 1];
        if (got === `${total} ${crc}`) return { length: total, crc, attempts: attempt };
        why = `${name} read back as ${got === undefined ? "nothing" : `"${got}"`}, expected "${total} ${crc}" (length, CRC-32)`;
      }
      this.emit("retry", why, attempt);
    }
    throw new ConsoleError("WRITE_FAILED", `${this.port}: ${why}${attempts > 1 ? ` (${attempts} attempts)` : ""}`);
  }

  /** One pass over the chunks; "" when every chunk was stored as sent, else why not. */
  private async writeOnce(n: string, bytes: Uint8Array, chunk: number, answerMs: number, resync: () => Promise<number>): Promise<string> {
    const total = bytes.length;
    for (let off = 0; off < total; off += chunk) {
      const part = bytes.subarray(off, off + chunk);
      const b64 = Buffer.from(part).toString("base64");
      const js = `(function(S){print(S.write(${n},atob("${b64}"),${off},${total})?E.CRC32(S.read(${n},${off},${part.length})):"refused")})(require("Storage"))`;
      // a chunk that got no answer is sent again once resync() has had an answer: on the Linux
      // build a busy concentrator's FIFO lost its place in the middle of a 35 KB write, and
      // sending the chunk again, even three times, got no answer for minutes. The chunk whose
      // answer was lost may have been stored, and Storage takes no second write over written
      // bytes: what it holds there decides (the chunk at 0 starts a new file: always sent)
      const want = String(crc32(part) >>> 0), where = `writing ${JSON.parse(n)} at ${off} of ${total}`;
      let got: string | undefined;
      for (let tries = 1; got === undefined; tries++) {
        try {
          const a = await this.command(js, { echo: false, timeoutMs: answerMs });
          got = a.lines[a.lines.length - 1];
          if (got !== want) return `${where}: ${a.error ?? (got === undefined ? "no answer" : got === "refused" ? "refused" : `stored with CRC-32 ${got}, sent ${want}`)}`;
        } catch (e) {
          if (!(e instanceof ConsoleError) || e.code !== "NO_ANSWER" || tries >= CHUNK_TRIES) throw e;
          this.emit("retry", `${where}: ${e.message}`, tries);
          try {
            await resync();
          } catch (r) {
            throw r instanceof ResyncError ? new ConsoleError("NO_ANSWER", `${e.message}; then ${r.why}`) : r;
          }
          if (off === 0) continue;
          const c = await this.command(`(function(d){print(d===undefined?"none":E.CRC32(d))})(require("Storage").read(${n},${off},${part.length}))`, { echo: false, timeoutMs: answerMs });
          const held = c.lines[c.lines.length - 1];
          if (held === want) got = held;
          else if (held !== String(crc32(new Uint8Array(part.length).fill(0xff)) >>> 0)) return `${where}: its answer lost, Storage holds ${held === undefined ? "nothing" : held === "none" ? "no such file" : `CRC-32 ${held}`} there, sent ${want}`;
        }
      }
    }
    return "";
  }

  /** Ends the session: no more reconnection; a waiting command fails with CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retry) { clearTimeout(this.retry); this.retry = null; }
    this.fail(new ConsoleError("CLOSED", `${this.port}: the session was closed`));
    this.emit("closed");
    const l = this.link;
    this.link = null;
    l?.close();
  }
}

function short(js: string): string {
  return js.length > 60 ? JSON.stringify(js.slice(0, 57) + "...") : JSON.stringify(js);
}

/** Opens a session (one connection attempt: UNREACHABLE or TAKEN when it fails). */
export async function openConsole(o: SessionOptions): Promise<ConsoleSession> {
  const s = new ConsoleSession(o);
  await s.open();
  return s;
}
