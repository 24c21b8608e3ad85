import { afterEach, describe, expect, it } from "vitest";
import { cleanLine, LineSplitter, TAKEN_LINE } from "../../tools/console/lines";
import { ConsoleError, openConsole, parsePort, type ConsoleSession } from "../../tools/console/session";
import { startFakeConsole, type FakeConsole } from "../fixtures/fake-console";

const open: { fakes: FakeConsole[]; sessions: ConsoleSession[] } = { fakes: [], sessions: [] };
afterEach(async () => {
  for (const s of open.sessions.splice(0)) await s.close();
  for (const f of open.fakes.splice(0)) await f.close();
});
async function fake(o: Parameters<typeof startFakeConsole>[0] = {}) { const f = await startFakeConsole(o); open.fakes.push(f); return f; }
async function session(port: string, o: { timeoutMs?: number; reconnect?: boolean } = {}) { const s = await openConsole({ port, ...o }); open.sessions.push(s); return s; }
const codeOf = async (p: Promise<unknown>) => p.then(() => "resolved", (e) => (e instanceof ConsoleError ? e.code : `not a ConsoleError: ${e}`));

describe("console lines", () => {
  it("are what the 2v29 interpreter's console shows, without prompt, erase sequence or carriage returns", () => {
    const lines: string[] = [];
    const sp = new LineSplitter((l) => lines.push(l));
    // measured on the Linux build (stdin/stdout pipes): a command's echo and value, a timer's print over the prompt,
    // an object's value over several lines, and the erase of a half-typed statement
    for (const chunk of [">1+1\r\n=", "2\r\n>", "\r\x1b[Jtick\r\n>", "({a:1})\r\n={ a: 1, \r\n  b: 2\r\n }\r\n>", "\x1b[A\r\x1b[J=2\r\n>#M#\r\n>"]) sp.push(chunk);
    expect(lines).toEqual(["1+1", "=2", "tick", "({a:1})", "={ a: 1, ", "  b: 2", " }", "=2", "#M#"]);
    expect(sp.pending()).toBe("");
    expect(cleanLine(">>x")).toBe(">x");
  });
});

describe("console session", () => {
  it("returns what a command printed and its value, without the echo, the prompt or the end marker", async () => {
    const f = await fake({ globals: (c) => ({ meterline: { progress: () => { c.print("meterline: campaign broadcast, round 1"); return 0; } } }) });
    const s = await session(f.url);
    expect(await s.command("meterline.progress()")).toEqual({ lines: ["meterline: campaign broadcast, round 1"], value: "0" });
    expect(await s.command("[1,2]")).toEqual({ lines: [], value: "[1,2]" });
    const a = await s.command("nothing.here");
    expect(a.error).toMatch(/^Uncaught ReferenceError: nothing is not defined/);
    expect(a.value).toBeUndefined();
    // without echo: no value, only what it prints; the console got DLE lines
    expect(await s.command("print('x');5", { echo: false })).toEqual({ lines: ["x"] });
    expect(f.received.filter((l) => /^print\("#ml-end-"\+"[0-9a-z]+-\d+#"\)$/.test(l)).length).toBe(4);
  });

  it("streams lines no command asked for to its listeners, and waits for a line on request", async () => {
    const f = await fake();
    const s = await session(f.url);
    const unsolicited: string[] = [];
    s.on("unsolicited", (l: string) => unsolicited.push(l));
    await s.ping();
    const waiting = s.waitFor(/^meterline: campaign \d+ ended/, 2000);
    f.print("meterline: campaign 2 ended: every meter done");
    expect(await waiting).toBe("meterline: campaign 2 ended: every meter done");
    expect(unsolicited).toEqual(["meterline: campaign 2 ended: every meter done"]);
    expect(await codeOf(s.waitFor(/never/, 100))).toBe("NO_ANSWER");
  });

  it("says NO_ANSWER when the board does not answer in time, and the next command still works", async () => {
    const f = await fake({ delayMs: 400 });
    const s = await session(f.url, { timeoutMs: 150 });
    const t0 = Date.now();
    expect(await codeOf(s.command("1+1"))).toBe("NO_ANSWER");
    expect(Date.now() - t0).toBeLessThan(1000);
    const late: string[] = [];
    s.on("unsolicited", (l: string) => late.push(l));
    expect((await s.command("2+3", { timeoutMs: 3000 })).value).toBe("5");
    expect(late).not.toContainEqual(expect.stringMatching(/#ml-end-/)); // the late marker is swallowed
    const mute = await fake({ mute: true });
    const m = await session(mute.url, { timeoutMs: 200 });
    await expect(m.ping()).rejects.toThrow(/no answer to "" within 200 ms \(nothing came back\)/);
  });

  it("says TAKEN when another client has the console, UNREACHABLE when nothing listens, CLOSED once closed", async () => {
    const f = await fake();
    const first = await session(f.url);
    await first.ping();
    const second = await session(f.url, { reconnect: false });
    expect(await codeOf(second.command("1"))).toBe("TAKEN");
    expect(await codeOf(second.command("1"))).toBe("TAKEN");
    expect((await first.command("1")).value).toBe("1"); // the owner is not disturbed
    const port = f.port;
    await f.close();
    open.fakes.splice(0);
    expect(await codeOf(openConsole({ port: `tcp://127.0.0.1:${port}` }))).toBe("UNREACHABLE");
    expect(await codeOf(openConsole({ port: "/dev/no-such-console" }))).toBe("UNREACHABLE");
    const g = await fake();
    const s = await session(g.url);
    await s.close();
    expect(await codeOf(s.command("1"))).toBe("CLOSED");
    expect(() => parsePort("COM3")).toThrow(ConsoleError);
    expect(parsePort("tcp://h:23")).toEqual({ kind: "tcp", host: "h", port: 23 });
    expect(TAKEN_LINE).toMatch(/in use/);
  });

  it("reconnects after the link drops: the command in flight fails with CLOSED, the next one is answered", async () => {
    const f = await fake({ mute: false, delayMs: 100 });
    const s = await session(f.url);
    const events: string[] = [];
    s.on("disconnect", (e: ConsoleError) => events.push(`disconnect ${e.code}`));
    s.on("connect", () => events.push("connect"));
    const inFlight = s.command("1+1");
    await new Promise((r) => setTimeout(r, 20));
    f.dropClient();
    expect(await codeOf(inFlight)).toBe("CLOSED");
    expect((await s.command("2+2", { timeoutMs: 5000 })).value).toBe("4");
    expect(events).toEqual(["disconnect CLOSED", "connect"]);
  });

  it("says REBOOTED when the board's banner comes during a command and no answer follows; a board that just started still answers", async () => {
    const f = await fake();
    const s = await session(f.url);
    let reboots = 0;
    s.on("reboot", () => reboots++);
    expect(await codeOf(s.command("reset()", { timeoutMs: 2000 }).then(() => new Promise((r) => setTimeout(r, 50))))).toBe("resolved");
    expect(reboots).toBe(1); // a banner outside a command is a reboot too
    f.set("starting", () => { f.out("\n 2v29 (c) 2025 G.Williams\n"); return 7; });
    expect((await s.command("starting()")).value).toBe("7");
    f.set("reboot", () => { f.out("\n 2v29 (c) 2025 G.Williams\n"); f.mute = true; });
    const t0 = Date.now();
    expect(await codeOf(s.command("reboot()", { timeoutMs: 300 }))).toBe("REBOOTED");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it("writes a Storage file binary-safely in chunks, checks each chunk and the whole file by CRC-32, and starts again when a chunk was stored wrong", async () => {
    const f = await fake();
    const s = await session(f.url);
    const bytes = new Uint8Array(2000).map((_, i) => (i * 37) & 255); // every byte value, 0xff and 0 included
    const r = await s.writeFile("img.bin", bytes, { chunkBytes: 300 });
    expect(r).toMatchObject({ length: 2000, attempts: 1 });
    expect(Buffer.from(f.storage.get("img.bin")!, "latin1")).toEqual(Buffer.from(bytes));
    expect(f.received.filter((l) => l.includes('.write("img.bin",atob(')).length).toBe(7);
    // a console that loses one character of the first attempt (as the Linux build did on a busy concentrator)
    let lose = true;
    const lossy = await fake();
    const l = await session(lossy.url);
    const take = (lossy as unknown as { take: (t: string) => Promise<void> }).take.bind(lossy);
    (lossy as unknown as { take: (t: string) => Promise<void> }).take = (t: string) => {
      if (lose && t.includes(",900,2000)")) { lose = false; t = t.replace(/atob\("(.{40})./, 'atob("$1'); }
      return take(t);
    };
    const retries: string[] = [];
    l.on("retry", (why: string) => retries.push(why));
    expect(await l.writeFile("img.bin", bytes, { chunkBytes: 300 })).toMatchObject({ attempts: 2 });
    expect(retries).toEqual([expect.stringMatching(/^writing img\.bin at 900 of 2000: /)]);
    expect(Buffer.from(lossy.storage.get("img.bin")!, "latin1")).toEqual(Buffer.from(bytes));
    // a board whose Storage keeps something else every time
    const bad = await fake({ globals: () => ({ E: { CRC32: () => 1, getErrorFlags: () => [] } }) });
    const b = await session(bad.url);
    await expect(b.writeFile("img.bin", bytes)).rejects.toMatchObject({ code: "WRITE_FAILED", message: expect.stringMatching(/writing img\.bin at 0 of 2000: stored with CRC-32 1, sent \d+ \(3 attempts\)$/) });
    // a refused chunk
    const full = await fake({ globals: () => ({ require: () => ({ write: () => false }) }) });
    const c = await session(full.url);
    await expect(c.writeFile("img.bin", bytes, { attempts: 1 })).rejects.toMatchObject({ code: "WRITE_FAILED", message: expect.stringMatching(/writing img\.bin at 0 of 2000: refused$/) });
    await expect(s.writeFile("", bytes)).rejects.toMatchObject({ code: "BAD_ARGUMENT" });
    await expect(s.writeFile("x", new Uint8Array(0))).rejects.toMatchObject({ code: "BAD_ARGUMENT" });
  });

  it("writeFile sends a chunk again when the board leaves it unanswered, without starting the file over", async () => {
    const bytes = new Uint8Array(2000).map((_, i) => (i * 37 + 11) & 0xff);
    const f = await fake();
    const s = await session(f.url);
    // the board takes the chunk at 600 and its end marker and says nothing: a half-typed line
    let drop = 0, dropped = false;
    const fk = f as unknown as { take: (t: string) => Promise<void> };
    const take = fk.take.bind(f);
    fk.take = (t: string) => {
      if (!dropped && t.includes(",600,2000)")) { dropped = true; drop = 1; }
      if (drop > 0) { drop--; return Promise.resolve(); }
      return take(t);
    };
    const retries: string[] = [];
    s.on("retry", (why: string) => retries.push(why));
    expect(await s.writeFile("img.bin", bytes, { chunkBytes: 300, timeoutMs: 800 })).toMatchObject({ attempts: 1, length: 2000 });
    expect(retries).toEqual([expect.stringMatching(/^writing img\.bin at 600 of 2000: .*no answer/)]);
    expect(Buffer.from(f.storage.get("img.bin")!, "latin1")).toEqual(Buffer.from(bytes));
    // a board that never answers a chunk, though it answers resync()'s empty commands: the write fails with NO_ANSWER after three sends
    const mute = await fake();
    const m = await session(mute.url);
    const mk = mute as unknown as { take: (t: string) => Promise<void> };
    const mtake = mk.take.bind(mute);
    mk.take = (t: string) => (t.includes("Storage") || t.includes("#ml-end-") && t.includes("print") && mute.received.some((r) => r.includes("Storage")) ? Promise.resolve() : mtake(t));
    await expect(m.writeFile("img.bin", bytes, { chunkBytes: 300, timeoutMs: 300 })).rejects.toMatchObject({ code: "NO_ANSWER", message: expect.stringMatching(/no answer to "\(function\(S\)\{print\(S\.write/) });
    expect(mute.received.filter((l) => l === "").length).toBe(2); // resync() between the sends, answered at once
    // a board that answers nothing after the chunk: the write fails with NO_ANSWER once resync() has given up
    const dead = await fake();
    const d = await session(dead.url);
    const dk = dead as unknown as { take: (t: string) => Promise<void> };
    const dtake = dk.take.bind(dead);
    dk.take = (t: string) => { if (t.includes("Storage")) dead.mute = true; return dtake(t); };
    const t0 = Date.now();
    const e = await d.writeFile("img.bin", bytes, { chunkBytes: 300, timeoutMs: 300, resyncMs: 1000 }).then(() => null, (x) => x);
    expect(e).toMatchObject({ code: "NO_ANSWER", message: expect.stringMatching(/within 300 ms \(nothing came back\); then no answer to \d+ rounds of NUL and BEL, ESC \[ 2 H and an empty command in 1 s: the board takes no console input/) });
    expect(Date.now() - t0).toBeLessThan(3000);
    // the rounds that fit in the second resync() allows (4 on an idle machine; a loaded one fits fewer), each one an empty command the board got
    const rounds = Number(/no answer to (\d+) rounds/.exec(e.message)![1]);
    expect(rounds).toBeGreaterThanOrEqual(2);
    expect(rounds).toBeLessThanOrEqual(4);
    await new Promise((r) => setTimeout(r, 200)); // the last round's bytes on their way to the board
    expect(dead.received.filter((l) => l === "").length).toBe(rounds);
  });
});
