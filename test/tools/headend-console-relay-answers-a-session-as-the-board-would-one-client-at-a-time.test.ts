import { afterEach, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { openConsole, type ConsoleSession } from "../../tools/console/session";
import { startRelay, type Relay } from "../../tools/headend/relay";
import { startFakeConsole, type FakeConsole } from "../fixtures/fake-console";

const open: { close(): Promise<void> }[] = [];
afterEach(async () => { for (const x of open.splice(0).reverse()) await x.close(); });

/** A board's console (the fake), the head-end's session on it, and a relay serving that session. */
async function relayed(relayTimeoutMs?: number): Promise<{ fake: FakeConsole; owner: ConsoleSession; relay: Relay }> {
  const fake = await startFakeConsole({ globals: (c) => ({ meterline: { hello: (n: number) => { c.print(`meterline: hello ${n}`); return n + 1; } } }) });
  open.push(fake);
  const owner = await openConsole({ port: fake.url, timeoutMs: 5000 });
  open.push(owner);
  const relay = await startRelay(owner, { timeoutMs: relayTimeoutMs });
  open.push(relay);
  return { fake, owner, relay };
}

async function client(url: string): Promise<ConsoleSession> {
  const s = await openConsole({ port: url, timeoutMs: 5000, reconnect: false });
  open.push(s);
  return s;
}

describe("the head-end's console relay (a console session on the relay, the head-end's session on the board)", () => {
  it("answers commands with their printed lines, value and errors as the board does, and writes Storage files", async () => {
    const { fake, relay } = await relayed();
    const s = await client(relay.url);
    expect(await s.command("meterline.hello(41)")).toEqual({ lines: ["meterline: hello 41"], value: "42" });
    expect(await s.command('({a:1,b:"x"})')).toEqual({ lines: [], value: '{"a":1,"b":"x"}' });
    const thrown = await s.command("nothing.here()");
    expect(thrown.error).toMatch(/^Uncaught ReferenceError: nothing is not defined/);
    expect(thrown.value).toBeUndefined();
    expect((await s.command('print("quiet")', { echo: false })).lines).toEqual(["quiet"]);
    await s.ping();
    // binary-safe upload, checked chunk by chunk and read back by length and CRC-32
    const bytes = new Uint8Array(randomBytes(2000));
    const w = await s.writeFile("img.bin", bytes, { chunkBytes: 300 });
    expect(w).toMatchObject({ length: 2000, attempts: 1 });
    expect(Buffer.from(fake.storage.get("img.bin")!, "latin1")).toEqual(Buffer.from(bytes));
    // the board saw each command once, as typed, and none of the relay's clients' end markers
    expect(fake.received.filter((l) => l === "meterline.hello(41)")).toHaveLength(1);
    expect(fake.received.some((l) => l.includes("#ml-end-") && !l.startsWith("print(\"#ml-end-\"+"))).toBe(false);
  });

  it("never interleaves a client's commands with the head-end's own, and passes on the lines the board prints by itself", async () => {
    const { fake, owner, relay } = await relayed();
    const s = await client(relay.url);
    const own: Promise<unknown>[] = [], theirs: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      own.push(owner.command(`meterline.hello(${i})`).then((a) => expect(a).toEqual({ lines: [`meterline: hello ${i}`], value: String(i + 1) })));
      theirs.push(s.command(`meterline.hello(${100 + i})`).then((a) => expect(a).toEqual({ lines: [`meterline: hello ${100 + i}`], value: String(101 + i) })));
    }
    await Promise.all([...own, ...theirs]);
    const heard: string[] = [];
    s.on("unsolicited", (l: string) => heard.push(l));
    fake.print("meterline: campaign broadcast, round 1");
    await s.waitFor(/round 1/, 2000);
    expect(heard).toEqual(["meterline: campaign broadcast, round 1"]);
  });

  it("refuses a second client with the board runner's TAKEN line, and takes one again when the first left", async () => {
    const { relay } = await relayed();
    const first = await client(relay.url);
    await first.ping();
    const second = await openConsole({ port: relay.url, timeoutMs: 2000, reconnect: false });
    open.push(second);
    await expect(second.command("1")).rejects.toMatchObject({ code: "TAKEN" });
    await first.close();
    const third = await client(relay.url);
    expect((await third.command("meterline.hello(1)")).value).toBe("2");
  });

  it("gives no answer to a command the board does not answer (the client's timeout says so), and goes on after it", async () => {
    const { fake, relay } = await relayed(1500);
    const s = await client(relay.url);
    fake.mute = true;
    await expect(s.command("meterline.hello(1)", { timeoutMs: 500 })).rejects.toMatchObject({ code: "NO_ANSWER" });
    fake.mute = false;
    // the relay's command waits in the head-end's session for the relay's timeout (1.5 s here); the next one follows it
    expect((await s.command("meterline.hello(2)", { timeoutMs: 8000 })).value).toBe("3");
  }, 15_000);
});
