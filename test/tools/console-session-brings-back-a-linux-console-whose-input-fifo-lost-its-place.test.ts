import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { openConsole, RESYNC_FILL, type ConsoleSession } from "../../tools/console/session";
import { startFakeConsole, type FakeConsole } from "../fixtures/fake-console";
import { CONSOLE, ConsoleInput, LinuxFifo, MASK } from "../fixtures/linux-console-fifo";

const open: { fakes: FakeConsole[]; sessions: ConsoleSession[] } = { fakes: [], sessions: [] };
afterEach(async () => {
  for (const s of open.sessions.splice(0)) await s.close();
  for (const f of open.fakes.splice(0)) await f.close();
});

/** The model with a console behind it: the lines it ran, in order. */
function model() {
  const ran: string[] = [];
  const con = new ConsoleInput((line) => ran.push(line));
  const fifo = new LinuxFifo((type, data) => { if (type === CONSOLE) for (const c of data) con.char(c); });
  const type = (s: string) => { for (const c of Buffer.from(s, "latin1")) fifo.stdin.push(c); };
  return { ran, con, fifo, type };
}

/** What the session writes for a command without echo (tools/console/session.ts run()). */
const command = (tag: string, js = "", before = "") => `${before}\x1b[2H\x10${js}\n\x10print("#ml-end-"+"${tag}#")\n`;
const answered = (ran: string[], tag: string) => ran.includes(`print("#ml-end-"+"${tag}#")`);

const wedged = (JSON.parse(readFileSync(new URL("../fixtures/wedged-linux-console-fifos.json", import.meta.url), "utf8")) as {
  fifos: { ioHead: number; ioTail: number; ioLastHead: number; inputLineLength: number; ioBuffer: string }[];
}).fifos;

describe("the Linux build's console FIFO (model)", () => {
  it("takes the session's commands in order while nothing races", () => {
    const m = model();
    for (let k = 1; k <= 40; k++) m.type(command(`t-${k}`, `print("${"x".repeat(k * 7)}");`));
    for (let t = 0; t < 400; t++) { m.fifo.poll(); m.fifo.idle(); }
    expect(Array.from({ length: 40 }, (_, k) => answered(m.ran, `t-${k + 1}`))).toEqual(Array(40).fill(true));
    expect(m.fifo.whole()).toBe(true);
    expect(m.fifo.fifoFull).toBe(false);
  });

  it("loses its place when the main loop takes the event a character is being appended to, then reads old bytes as events and answers nothing", () => {
    const m = model();
    for (let k = 1; k <= 30; k++) m.type(command(`p-${k}`, `print(${k});`));
    for (let t = 0; t < 300; t++) { m.fifo.poll(); m.fifo.idle(); }
    expect(answered(m.ran, "p-30")).toBe(true);
    // the race strikes on the last character sent: the newline that ends the marker line
    let fired = -1;
    m.fifo.race = (ch) => (fired < 0 && ch === 10 && m.fifo.stdin.length === 0 ? (fired = m.fifo.head, true) : false);
    m.type(command("a-1", "print(31);"));
    m.fifo.poll();
    m.fifo.race = null;
    expect(fired).toBeGreaterThanOrEqual(0);
    expect(m.ran[m.ran.length - 1]).toBe("print(31);"); // the command ran; its marker line has no newline
    // the newline sits where the next event's length byte should be: read as a length, it
    // sends the reading end 11 bytes past ioHead, and the FIFO counts as nearly full
    expect(m.fifo.buf[fired]).toBe(10);
    expect(m.fifo.head).toBe((fired + 1) & MASK);
    expect(m.fifo.pop()).not.toBeNull();
    expect(m.fifo.tail).toBe((fired + 12) & MASK);
    expect(m.fifo.used()).toBe(1013);
    // from there, old bytes are events: lengths no event can have, any type, round and round
    const seen = new Set<number>();
    let longest = 0;
    while (!seen.has(m.fifo.tail)) {
      seen.add(m.fifo.tail);
      const e = m.fifo.pop();
      expect(e).not.toBeNull();
      longest = Math.max(longest, e!.data.length);
    }
    expect(seen.has(m.fifo.head)).toBe(false);
    expect(longest).toBeGreaterThan(63);
    expect(m.fifo.whole()).toBe(false);
    for (let t = 0; t < 50; t++) { m.fifo.poll(); m.fifo.idle(); }
    expect(answered(m.ran, "a-1")).toBe(false);
  });

  it("over 200 FIFOs the race left misplaced, one round of RESYNC_FILL brings back every one; ESC [ 2 H alone or NULs alone do not", () => {
    let seed = 3;
    const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
    const chunk = (k: number) => command(`x-${k}`, `(function(S){print(S.write("img.bin",atob("${Buffer.from(Array.from({ length: 300 }, () => Math.floor(rnd() * 256))).toString("base64")}"),${k * 300},34686)?1:0)})(require("Storage"))`);
    const states: { buf: Uint8Array; head: number; tail: number; lastHead: number }[] = [];
    while (states.length < 200) {
      // chunks as writeFile sends them, each once the one before was answered; the input
      // thread reads what came, the main loop takes 1 to 8 events between its reads
      const m = model();
      let hit = false;
      m.fifo.race = () => (rnd() < 0.002 ? (hit = true) : false);
      for (let k = 0; k < 200 && !hit; k++) {
        m.type(chunk(k));
        for (let t = 0; t < 1000 && !hit && !answered(m.ran, `x-${k}`); t++) { m.fifo.poll(); m.fifo.idle(1 + Math.floor(rnd() * 8)); }
      }
      if (hit && !m.fifo.whole()) states.push({ buf: m.fifo.buf.slice(), head: m.fifo.head, tail: m.fifo.tail, lastHead: m.fifo.lastHead });
    }
    const back = (fill: string) => states.filter((st) => {
      const m = model();
      m.fifo.buf.set(st.buf); m.fifo.head = st.head; m.fifo.tail = st.tail; m.fifo.lastHead = st.lastHead;
      m.type(command("ok", "", fill));
      for (let t = 0; t < 300; t++) { m.fifo.poll(); m.fifo.idle(1 + Math.floor(rnd() * 32)); if (answered(m.ran, "ok")) return true; }
      return false;
    }).length;
    expect([back(""), back("\0".repeat(512)), back(RESYNC_FILL)]).toEqual([1, 125, 200]);
  });

  it.each(wedged.map((w, i) => [i + 1, w] as const))("a wedged 2v29 concentrator's FIFO (dump %i) goes round stale bytes; the session's next commands are not answered, resync()'s rounds are", (_, w) => {
    const load = () => {
      const m = model();
      m.fifo.buf.set(Buffer.from(w.ioBuffer, "hex"));
      m.fifo.head = w.ioHead; m.fifo.tail = w.ioTail; m.fifo.lastHead = w.ioLastHead;
      return m;
    };
    // with nothing new, the length bytes from ioTail go round without meeting ioHead
    const idle = load();
    const seen = new Set<number>();
    while (!seen.has(idle.fifo.tail)) { seen.add(idle.fifo.tail); expect(idle.fifo.pop()).not.toBeNull(); }
    expect(seen.has(w.ioHead)).toBe(false);
    expect(idle.fifo.whole()).toBe(false);
    // what the session sent before this change after a chunk went unanswered: the next command, ESC [ 2 H first
    const old = load();
    for (let r = 1; r <= 10; r++) {
      old.type(command(`o-${r}`));
      for (let t = 0; t < 50; t++) { old.fifo.poll(); old.fifo.idle(); }
    }
    expect(old.ran.filter((l) => l.includes("#ml-end-"))).toEqual([]);
    expect(old.fifo.whole()).toBe(false);
    // resync(): RESYNC_FILL before each round's ESC [ 2 H
    const now = load();
    let r = 1;
    for (; r <= 10 && !now.ran.some((l) => l.includes("#ml-end-")); r++) {
      now.type(command(`n-${r}`, "", RESYNC_FILL));
      for (let t = 0; t < 50; t++) { now.fifo.poll(); now.fifo.idle(); }
    }
    expect(r - 1).toBe(1);
    expect(answered(now.ran, "n-1")).toBe(true);
    expect(now.fifo.whole()).toBe(true);
    // the next command is answered as usual
    now.type(command("n-next", "print(2*21);"));
    for (let t = 0; t < 20; t++) { now.fifo.poll(); now.fifo.idle(); }
    expect(now.ran.slice(-2)).toEqual(["print(2*21);", 'print("#ml-end-"+"n-next#")']);
  });
});

describe("console session on a Linux-build console", () => {
  it("writeFile finishes a file when the FIFO loses its place on a chunk's last newline: resync() brings it back, the chunk is checked and sent again", async () => {
    const bytes = new Uint8Array(6000).map((_, i) => (i * 131 + 7) & 0xff);
    let chunksRun = 0, fired = 0, brokenTicks = 0;
    const f = await startFakeConsole({
      linux: {
        tickMs: 2,
        // once, on the last character the session has sent (a marker line's newline) after 8 chunks
        race: (ch, fifo) => (ch === 10 && fifo.stdin.length === 0 && chunksRun >= 8 && !fired ? (fired++, true) : false),
      },
    });
    open.fakes.push(f);
    const watch = setInterval(() => {
      chunksRun = f.received.filter((l) => l.includes('.write("img.bin",atob(')).length;
      if (!f.fifo!.whole()) brokenTicks++;
    }, 1);
    const s = await openConsole({ port: f.url, timeoutMs: 3000 });
    open.sessions.push(s);
    const retries: string[] = [];
    s.on("retry", (why: string) => retries.push(why));
    try {
      const r = await s.writeFile("img.bin", bytes, { chunkBytes: 300, timeoutMs: 500, resyncMs: 20_000 });
      expect(r).toMatchObject({ length: 6000, attempts: 1 });
    } finally {
      clearInterval(watch);
    }
    expect(fired).toBe(1);
    expect(brokenTicks).toBeGreaterThan(0);
    expect(retries).toEqual([expect.stringMatching(/^writing img\.bin at (2400|2700) of 6000: .*no answer to .* within 500 ms/)]);
    expect(Buffer.from(f.storage.get("img.bin")!, "latin1")).toEqual(Buffer.from(bytes));
    expect(f.fifo!.whole()).toBe(true);
    expect(f.received).toContain(""); // resync()'s empty command
  });

  it("resync() takes one round on a console that answers, and gives up with NO_ANSWER on one that never does", async () => {
    const f = await startFakeConsole({ linux: {} });
    open.fakes.push(f);
    const s = await openConsole({ port: f.url, timeoutMs: 1000 });
    open.sessions.push(s);
    expect(await s.resync()).toBe(1);
    expect((await s.command("6*7")).value).toBe("42");
    f.mute = true;
    const t0 = Date.now();
    await expect(s.resync(700, 200)).rejects.toMatchObject({ code: "NO_ANSWER", message: expect.stringMatching(/no answer to \d rounds of NUL and BEL, ESC \[ 2 H and an empty command in 1 s/) });
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});
