/*
 * The head-end's console relay (docs/headend.md, Console relay): while the head-end holds a
 * concentrator's console, a TCP listener on 127.0.0.1 (an ephemeral port) speaks to one client
 * what the board's console speaks to the project's console session (tools/console/session.ts),
 * so `openConsole({ port: relay.url })`, and with it `npm run console` and `npm run deploy`,
 * work through it unchanged, while the head-end goes on pulling.
 *
 * What the session sends for a command, and what comes back (tools/console/lines.ts):
 *   ESC [ 2 H  [DLE] js-line-1 \n  js-line-2 \n ...  DLE print("#ml-end-"+"<token>#") \n
 * The relay takes the lines before the marker line as one command (ESC [ 2 H drops a
 * half-typed line; a first line after DLE is a command without echo), runs it through the
 * head-end's own session (its command queue: never interleaved with the head-end's pulls),
 * and writes back what the board would have: the echo (further lines after ":"), the printed
 * lines, "=value", the prompt, and then the marker line itself. A client that sends no marker
 * (a person with netcat) gets each line run when nothing more comes for LINGER_MS.
 *
 * A command the head-end's session cannot get answered (no answer, the link down) gets no
 * answer here either: the client's own timeout says so, as on the board. Lines the
 * concentrator prints outside any command (a campaign's lines) go to the client as they
 * come; lines it prints while one of the head-end's own commands runs belong to that answer.
 * One client at a time: a second waits 300 ms for the first to leave, then gets the board
 * runner's TAKEN_LINE and is closed (tools/board/runner.ts).
 */
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { Answer } from "../console/session";
import { TAKEN_LINE } from "../console/lines";
import { announce } from "../console/owner";

/** What the relay needs of the head-end's console: a ConsoleSession. */
export interface RelayConsole {
  readonly port: string;
  command(js: string, o?: { timeoutMs?: number; echo?: boolean }): Promise<Answer>;
  on(event: "unsolicited", f: (line: string) => void): unknown;
  off(event: "unsolicited", f: (line: string) => void): unknown;
}

/** The marker line's command, as the session builds it: print("#ml-end-"+"<token>#"). */
const MARKER_CALL = /^print\("#ml-end-"\+"([0-9a-z]+-\d+#)"\)$/;

/** A client's lines without a marker are run when nothing more came for this long. */
const LINGER_MS = 100;

/** How long one relayed command may take through the head-end's session: update() digests the whole image before it answers. */
export const RELAY_COMMAND_MS = 120_000;

export interface Relay {
  /** tcp://127.0.0.1:N */
  readonly url: string;
  /** Stops listening, drops the client. */
  close(): Promise<void>;
}

/** The console output of one answer, as the interpreter writes it ("\r\n" line ends, the prompt after). */
export function answerText(js: string, echo: boolean, a: Answer): string {
  const out: string[] = [];
  if (echo) js.split("\n").forEach((l, i) => out.push((i ? ":" : "") + l));
  out.push(...a.lines);
  if (echo && a.value !== undefined) out.push(`=${a.value}`);
  return out.map((l) => `${l}\r\n`).join("") + ">";
}

class Client {
  private input = "";
  private dle = false;
  private lines: string[] = [];
  private echo = true;
  private linger: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private gone = false;

  constructor(private readonly sock: Socket, private readonly con: RelayConsole, private readonly timeoutMs: number) {
    sock.on("data", (b: Buffer) => this.take(b.toString("latin1")));
  }

  write(text: string): void { if (!this.gone) this.sock.write(Buffer.from(text, "latin1")); }

  end(): void {
    this.gone = true;
    if (this.linger) clearTimeout(this.linger);
    this.sock.destroy();
  }

  private take(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (ch === "\x1b") {
        const esc = /^\x1b\[(\d*)([A-Za-z])/.exec(text.slice(i, i + 12));
        if (esc) {
          if (esc[1] === "2" && esc[2] === "H") { this.input = ""; this.dle = false; }
          i += esc[0].length - 1;
        }
        continue;
      }
      if (ch === "\x10") { if (this.input === "") this.dle = true; continue; }
      if (ch === "\r" || ch === "\x03") continue;
      if (ch !== "\n") { this.input += ch; continue; }
      this.line(this.input, this.dle);
      this.input = "";
      this.dle = false;
    }
    if (this.lines.length) {
      if (this.linger) clearTimeout(this.linger);
      this.linger = setTimeout(() => this.flush(null), LINGER_MS);
    }
  }

  private line(text: string, dle: boolean): void {
    const m = dle ? MARKER_CALL.exec(text) : null;
    if (m) { this.flush(`#ml-end-${m[1]}`); return; }
    if (!this.lines.length) this.echo = !dle;
    this.lines.push(text);
  }

  /** Runs the lines gathered as one command (in turn), then writes the marker line, if any. */
  private flush(marker: string | null): void {
    if (this.linger) { clearTimeout(this.linger); this.linger = null; }
    const js = this.lines.join("\n"), echo = this.echo;
    this.lines = [];
    this.echo = true;
    this.chain = this.chain.then(async () => {
      if (this.gone) return;
      let text = "";
      if (js !== "" || !echo) {
        try {
          text = answerText(js, echo, await this.con.command(js, { echo, timeoutMs: this.timeoutMs }));
        } catch {
          return; // no answer from the concentrator: none here either (the client's timeout says so)
        }
      } else text = ">";
      this.write(marker ? `${text}${marker}\r\n>` : text);
    });
  }
}

/** Serves `con` on 127.0.0.1 (port 0: any free one). */
export async function startRelay(con: RelayConsole, o: { port?: number; timeoutMs?: number } = {}): Promise<Relay> {
  let client: Client | null = null;
  const timeoutMs = o.timeoutMs ?? RELAY_COMMAND_MS;
  const unsolicited = (line: string) => client?.write(`${line}\r\n`);
  const accept = (s: Socket, waited = false) => {
    s.on("error", () => undefined);
    if (client && !waited) { setTimeout(() => accept(s, true), 300); return; }
    if (client || closed) {
      s.end(TAKEN_LINE + "\r\n");
      setTimeout(() => s.destroy(), 1000).unref();
      return;
    }
    s.setNoDelay(true);
    const c = new Client(s, con, timeoutMs);
    client = c;
    s.on("close", () => { if (client === c) client = null; c.end(); });
  };
  let closed = false;
  const server: Server = createServer((s) => accept(s));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, "127.0.0.1", () => resolve());
  });
  con.on("unsolicited", unsolicited);
  const url = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async close() {
      if (closed) return;
      closed = true;
      con.off("unsolicited", unsolicited);
      client?.end();
      client = null;
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A port the head-end holds: its relay, and the announcement naming it (tools/console/owner.ts). */
export interface Held {
  readonly port: string;
  readonly relay: Relay;
  /** Takes the announcement back and stops the relay. */
  release(): Promise<void>;
}

/** Serves a relay for the head-end's console of concentrator `id` and announces the port as held by this process. */
export async function hold(con: RelayConsole, id: string): Promise<Held> {
  const relay = await startRelay(con);
  let withdraw: () => void;
  try { withdraw = announce(con.port, id, relay.url); } catch (e) { await relay.close(); throw e; }
  return {
    port: con.port, relay,
    async release() { withdraw(); await relay.close(); },
  };
}
