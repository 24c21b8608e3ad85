import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeProgramImage } from "../harness/scripted-concentrator";
import { imageFileOf } from "../../tools/image/image";
import { startHeadend, type Running } from "../../tools/headend/headend";
import type { ThreadedDb } from "../../tools/headend/db-thread";
import { heldBy } from "../../tools/console/owner";
import { consoleNetwork, lineKey, type ConsoleNetwork } from "../fixtures/headend-network";

// this file's head-ends announce into a folder of its own, and the tools it runs look there
const dir = mkdtempSync(join(tmpdir(), "headend-owner-"));
const before = process.env.ML_HEADEND_DIR;
beforeAll(() => { process.env.ML_HEADEND_DIR = join(dir, "announced"); });
afterAll(() => { if (before === undefined) delete process.env.ML_HEADEND_DIR; else process.env.ML_HEADEND_DIR = before; });

const nets: ConsoleNetwork[] = [];
const heads: Running[] = [];
afterEach(async () => {
  for (const h of heads.splice(0)) await h.stop();
  for (const n of nets.splice(0)) await n.close();
});

interface Run { status: number | null; stdout: string; stderr: string }

/** A host tool as a process (npm run deploy / console), with this file's announcements folder. */
function tool(file: string, args: string[]): { done: Promise<Run> } {
  const done = new Promise<Run>((resolve) => {
    execFile(process.execPath, ["--import", "tsx", file, ...args], { encoding: "utf8", timeout: 170_000, env: { ...process.env } }, (e, stdout, stderr) => {
      resolve({ status: e ? (typeof e.code === "number" ? e.code : null) : 0, stdout, stderr });
    });
  });
  return { done };
}

/** A head-end (npm run headend's startHeadend: SQLite, the embedded broker) attached to the network's console over TCP. */
async function headend(net: ConsoleNetwork, log: string[] = []): Promise<Running> {
  const d = mkdtempSync(join(dir, "h-"));
  const r = await startHeadend({ ports: [net.fake.url], bench: false, db: join(d, "h.db"), mqttPort: 0, everyS: 1, batch: 100, timeoutS: 5, speed: 60, files: d, homeassistant: null, httpPort: 0 }, (l) => log.push(l));
  heads.push(r);
  return r;
}

/** The head-end's rows are exactly the readings the concentrator collected: none missing, none twice. */
async function sameAsCollected(r: Running, net: ConsoleNetwork): Promise<number> {
  const rows = await (r.db as ThreadedDb).readings("7");
  const keys = rows.map((x) => `${x.meter}|${x.obis}|${x.time}`);
  expect(new Set(keys).size).toBe(keys.length);
  expect(keys.sort()).toEqual(net.collected.map(lineKey).sort());
  return rows.length;
}

const version = (net: ConsoleNetwork, id: number) => {
  const n = net.rig.meters.get(id)!;
  return n.flash.read(n.board.regions.app!.addr + 12, 1)[0];
};

const exports = (net: ConsoleNetwork) => net.fake.received.filter((l) => l.startsWith('meterline.export("json"')).length;

describe("npm run deploy and npm run console given a port a running head-end holds", () => {
  it("deploy uploads the image through the head-end's relay, starts the campaign and follows it to the end while the head-end keeps pulling; no reading lost or doubled", async () => {
    const net = await consoleNetwork([2001, 2002, 2003], { id: 7, readingMinutes: 1 }, 21, { autoRestart: true });
    nets.push(net);
    const log: string[] = [];
    const r = await headend(net, log);
    const held = heldBy(net.fake.url);
    expect(held).toMatchObject({ port: net.fake.url, concentrator: "7", pid: process.pid });
    expect(log).toContain(`headend: ${net.fake.url}: console relay on ${held!.relay} (npm run console and npm run deploy with --port ${net.fake.url} go through it)`);
    net.advance(5 * 60_000);
    await r.headend.pullAll();
    expect(await sameAsCollected(r, net)).toBeGreaterThan(0);

    const img = join(dir, "meter-v2.mlim");
    writeFileSync(img, imageFileOf(makeProgramImage(2, 24_000, 200).bytes, "LINUX", 2, 200));
    const pulledBefore = exports(net), storedBefore = r.headend.attached[0].stored;
    const d = tool("tools/deploy/deploy.ts", ["--port", net.fake.url, "--image", img, "--image-id", "12", "--method", "patent", "--every", "1", "--timeout", "30"]);
    // virtual time goes on (register rounds, the campaign) while deploy and the head-end talk to the concentrator
    let finished: Run | null = null;
    void d.done.then((x) => { finished = x; });
    while (!finished) {
      net.advance(1_000);
      await new Promise((res) => setTimeout(res, 25));
    }
    const out: Run = finished;
    expect(out.stderr).toBe("");
    expect(out.status).toBe(0);
    const lines = out.stdout.split("\n");
    expect(lines[0]).toBe(`deploy: through the head-end (pid ${process.pid}) that holds ${net.fake.url}`);
    expect(lines).toContain(`deploy: writing ${img} to ${net.fake.url} as img.bin (${imageFileOf(makeProgramImage(2, 24_000, 200).bytes, "LINUX", 2, 200).length} bytes)`);
    expect(lines.some((l) => /^meterline: campaign 12 started/.test(l))).toBe(true);
    expect(lines.some((l) => /^meterline: campaign (done|12 ended).*/.test(l))).toBe(true);
    expect([version(net, 2001), version(net, 2002), version(net, 2003)]).toEqual([2, 2, 2]);
    // the console saw the upload and update() once each, through the head-end's one session
    expect(net.fake.received.filter((l) => l.startsWith("meterline.update(")).length).toBe(1);
    // the head-end went on pulling (a pull a second) and storing all along
    expect(exports(net) - pulledBefore).toBeGreaterThanOrEqual(3);
    expect(r.headend.attached[0].stored).toBeGreaterThan(storedBefore);
    // every reading stored once, the acknowledgement at the cursor
    net.advance(3 * 60_000);
    await r.headend.pullAll();
    await sameAsCollected(r, net);
    expect(net.conc.ctx.store.acked()).toBe(await (r.db as ThreadedDb).cursor("7"));
    // and it followed the campaign deploy started, to its end (the campaign topic)
    expect(r.headend.attached[0].report).toMatchObject({ imageId: 12, phase: "done", running: false, complete: 3, meters: 3 });

  }, 180_000);

  it("console runs a command through the head-end; --direct fails naming the head-end; a second head-end on the port is refused naming the first; a stale announcement is ignored", async () => {
    const net = await consoleNetwork([501], { id: 7 });
    nets.push(net);
    const r = await headend(net);
    // a second head-end given the same port: one head-end owns a concentrator's readings and commands
    await expect(headend(net)).rejects.toThrow(`${net.fake.url} is held by another head-end (pid ${process.pid}, concentrator 7), which owns its readings and commands: stop it, or attach this one to other concentrators`);
    const through = await tool("tools/console/console.ts", ["--port", net.fake.url, "meterline.config.id"]).done;
    expect([through.status, through.stdout, through.stderr]).toEqual([0, "=7\n", `console: through the head-end (pid ${process.pid}) that holds ${net.fake.url}\n`]);
    const img = join(dir, "m.mlim");
    writeFileSync(img, imageFileOf(makeProgramImage(2, 600, 200).bytes, "LINUX", 2, 200));
    const refused = `is held by the head-end (pid ${process.pid}, concentrator 7): stop it, or leave out --direct to go through it`;
    const c = await tool("tools/console/console.ts", ["--port", net.fake.url, "--direct", "meterline.config.id"]).done;
    expect([c.status, c.stdout, c.stderr]).toEqual([1, "", `console: ${net.fake.url} ${refused}\n`]);
    const dd = await tool("tools/deploy/deploy.ts", ["--port", net.fake.url, "--direct", "--image", img, "--image-id", "3"]).done;
    expect([dd.status, dd.stdout, dd.stderr]).toEqual([1, "", `deploy: ${net.fake.url} ${refused}\n`]);
    expect(net.fake.received.filter((l) => l.startsWith("meterline.update("))).toEqual([]);

    // stopped, the head-end takes its announcement back and lets the port go: console goes straight to it
    await r.stop();
    expect(readdirSync(process.env.ML_HEADEND_DIR!)).toEqual([]);
    // a head-end killed with -9 leaves its announcement; its pid is dead, so it is ignored (and removed)
    const dead = spawn(process.execPath, ["-e", ""]);
    const pid = dead.pid!;
    await new Promise((res) => dead.once("exit", res));
    const stale = join(process.env.ML_HEADEND_DIR!, `${encodeURIComponent(net.fake.url)}.json`);
    writeFileSync(stale, JSON.stringify({ port: net.fake.url, device: null, concentrator: "7", relay: "tcp://127.0.0.1:1", pid, since: Date.now() }));
    const direct = await tool("tools/console/console.ts", ["--port", net.fake.url, "meterline.config.id"]).done;
    expect([direct.status, direct.stdout, direct.stderr]).toEqual([0, "=7\n", ""]);
    expect(readdirSync(process.env.ML_HEADEND_DIR!)).toEqual([]);
  }, 120_000);
});
