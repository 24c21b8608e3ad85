import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import Database from "better-sqlite3";
import { embeddedBroker } from "../../tools/headend/mqtt";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => { for (const c of closers.splice(0).reverse()) await c(); });

/** npm run headend as a process (node --import tsx, as the script runs it); its stdout lines as they come. */
function headend(...args: string[]): { p: ChildProcess; out: string[]; exited: Promise<number | null> } {
  const p = spawn(process.execPath, ["--import", "tsx", "tools/headend/headend.ts", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const out: string[] = [];
  let buf = "";
  p.stdout!.on("data", (b: Buffer) => { buf += b.toString(); const l = buf.split("\n"); buf = l.pop()!; out.push(...l); });
  p.stderr!.on("data", (b: Buffer) => out.push(`stderr: ${b.toString().trim()}`));
  const exited = new Promise<number | null>((r) => p.on("exit", (code) => r(code)));
  closers.push(() => { if (p.exitCode === null) p.kill("SIGKILL"); });
  return { p, out, exited };
}

async function until(f: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!f() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

async function firstReading(url: string, filter: string): Promise<{ topic: string; payload: string } | undefined> {
  const c = await mqtt.connectAsync(url, { clientId: `t-${Math.random().toString(36).slice(2)}` });
  closers.push(() => c.endAsync());
  const got: { topic: string; payload: string }[] = [];
  c.on("message", (topic, payload) => { if (!topic.endsWith("/status")) got.push({ topic, payload: payload.toString() }); });
  await c.subscribeAsync(filter);
  await until(() => got.length > 0, 30_000);
  return got[0];
}

describe("npm run headend -- --bench", () => {
  it("prints the broker and the topics, stores and publishes the bench network's readings, and stops on SIGINT with exit 0", async () => {
    const db = join(mkdtempSync(join(tmpdir(), "headend-")), "h.db");
    const h = headend("--bench", "--mqtt-port", "0", "--http", "0", "--db", db, "--speed", "120");
    await until(() => h.out.some((l) => l.startsWith("headend: running")), 30_000);
    const url = /MQTT broker (mqtt:\/\/[\d.]+:\d+) \(embedded\)/.exec(h.out.join("\n"))?.[1];
    expect(url, h.out.join("\n")).toBeDefined();
    expect(h.out).toContain("headend: concentrator 1 on bench:concentrator-1: attached; its readings from store position 0 on");
    expect(h.out.some((l) => l.includes("meterline/<concentrator>/<meter>/<obis>"))).toBe(true);
    // the live page's address, printed, answers with the bench's meters
    const page = /live page (http:\/\/127\.0\.0\.1:\d+\/) /.exec(h.out.join("\n"))?.[1];
    expect(page, h.out.join("\n")).toBeDefined();
    const html = await (await fetch(page!)).text();
    expect(html).toContain("<title>meterline head-end</title>");
    expect(html).toContain('<tr class="concentrator" data-concentrator="1" data-status="online">');
    const m = await firstReading(url!, "meterline/1/+/+");
    expect(m?.topic).toMatch(/^meterline\/1\/100\d\/\d+-\d+:\d+\.\d+\.\d+$/);
    expect(Object.keys(JSON.parse(m!.payload))).toEqual(["value", "unit", "time", "status", "statusNames"]);
    h.p.kill("SIGINT");
    expect(await h.exited).toBe(0);
    expect(h.out).toContain("headend: stopped");
    const d = new Database(db, { readonly: true });
    closers.push(() => { d.close(); });
    expect((d.prepare("SELECT count(*) AS n FROM readings").get() as { n: number }).n).toBeGreaterThan(0);
    expect(d.prepare("SELECT status FROM concentrators").all()).toEqual([{ status: "offline" }]);
    expect((d.prepare("SELECT count(*) AS n FROM meters WHERE kind > 0").get() as { n: number }).n).toBeGreaterThan(4);
  }, 120_000);

  it("--mqtt publishes to a broker that runs already; a broker that cannot be reached exits 1 naming it", async () => {
    const broker = await embeddedBroker(0, "127.0.0.1"); // another process's broker, to this head-end
    closers.push(() => broker.close());
    const db = join(mkdtempSync(join(tmpdir(), "headend-")), "h.db");
    const h = headend("--bench", "--mqtt", broker.url, "--http", "0", "--db", db, "--speed", "120");
    await until(() => h.out.some((l) => l.startsWith("headend: running")), 30_000);
    expect(h.out).toContain(`headend: MQTT broker ${broker.url}`);
    const m = await firstReading(broker.url, "meterline/#");
    expect(m?.topic).toMatch(/^meterline\/1\/100\d\//);
    h.p.kill("SIGTERM");
    expect(await h.exited).toBe(0);

    const down = headend("--bench", "--mqtt", "mqtt://127.0.0.1:1", "--db", db);
    expect(await down.exited).toBe(1);
    expect(down.out.join("\n")).toMatch(/stderr: headend: --mqtt mqtt:\/\/127\.0\.0\.1:1: cannot connect/);

    // a page port in use: exit 1, one line naming it
    const taken = await new Promise<import("node:net").Server>((r) => { const srv = createServer(); srv.listen(0, "0.0.0.0", () => r(srv)); });
    closers.push(() => new Promise<void>((r) => taken.close(() => r())));
    const port = (taken.address() as import("node:net").AddressInfo).port;
    const busy = headend("--bench", "--mqtt", broker.url, "--http", String(port), "--db", db);
    expect(await busy.exited).toBe(1);
    expect(busy.out.filter((l) => l.startsWith("stderr:"))).toEqual([`stderr: headend: the page cannot listen on port ${port}: the port is in use (--http N for another, 0 for any free port)`]);
  }, 120_000);
});
