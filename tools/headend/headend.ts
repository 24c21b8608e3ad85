/*
 * npm run headend: the head-end (docs/headend.md). Attaches to concentrators through their
 * consoles (tools/console/session.ts), pulls their readings incrementally and acknowledges
 * what it stored, keeps them in SQLite, and publishes them on MQTT (an embedded broker, or
 * --mqtt for one that runs already). --bench: the default bench network in this process.
 *
 *   npm run headend -- --concentrator tcp://127.0.0.1:4733 --concentrator /dev/ttyACM0
 *   npm run headend -- --bench
 */
import { resolve as resolvePath } from "node:path";
import { ConsoleSession, openConsole } from "../console/session";
import { cli, inputFile, int, isMain, ToolError, UsageError, type Parsed, type Tool } from "../cli/cli";
import { ThreadedDb } from "./db-thread";
import { embeddedBroker, externalBroker, type Publisher } from "./mqtt";
import { Headend, type ConcentratorConsole, type ReadingsDb } from "./core";
import { PgDb } from "./pg";
import { benchNetwork, type BenchNetwork } from "./bench";
import { DEFAULT_PREFIX } from "./homeassistant";
import { hold, type Held } from "./relay";
import { heldBy } from "../console/owner";
import { startPage, type PageServer } from "./page";

/** The live page's port when --http is not given. */
export const DEFAULT_HTTP_PORT = 8080;

export const TOOL: Tool = {
  name: "headend", run: "npm run headend --",
  usage: "(--concentrator PORT ... | --bench) [options]",
  about: "The head-end: attaches to concentrators through their consoles, pulls each one's new readings with\nmeterline.export(\"json\", from, max), stores them in SQLite and only then acknowledges them\n(meterline.ack), and publishes each reading on MQTT (meterline/<concentrator>/<meter>/<obis>,\nretained) with an embedded broker, or an external one with --mqtt. Takes commands on\nmeterline/<concentrator>/cmd/<read|update|pause|resume|abort> and publishes campaign progress.\nServes a live page (concentrators, meters, readings, plots, campaigns) on --http.\nRuns until stopped (Ctrl-C).\n--bench: the default bench network (a concentrator and 8 meters on a simulated line) in this process.",
  options: {
    concentrator: { type: "string", multiple: true, value: "PORT", help: "a concentrator's console: tcp://host:port or a serial device path; repeat for more" },
    bench: { type: "boolean", default: false, help: "attach the default bench network (no hardware) instead" },
    db: { type: "string", value: "FILE|URL", default: "headend.db", help: "the SQLite database file (made when missing), or postgres://user@host:port/db for PostgreSQL" },
    mqtt: { type: "string", value: "URL", help: "an external MQTT broker, mqtt://host:port, instead of the embedded one" },
    "mqtt-port": { type: "string", value: "N", help: "the embedded broker's TCP port (0: any free port) (default 1883)" },
    http: { type: "string", value: "PORT", help: `the live page's HTTP port (0: any free port) (default ${DEFAULT_HTTP_PORT})` },
    every: { type: "string", value: "S", help: "seconds between pulls (default 10; 1 with --bench)" },
    batch: { type: "string", value: "N", default: "100", help: "readings asked for in one export, 1 to 1000" },
    timeout: { type: "string", value: "S", default: "30", help: "seconds one console command may take" },
    speed: { type: "string", value: "N", help: "--bench: virtual seconds a real second (default 60)" },
    homeassistant: { type: "boolean", default: false, help: "announce each meter's energy, water and gas registers to Home Assistant (MQTT discovery, retained)" },
    "homeassistant-prefix": { type: "string", value: "P", help: "Home Assistant's discovery prefix (default homeassistant)" },
    files: { type: "string", value: "DIR", help: "the folder of images and tags files that update commands name (default the current folder)" },
  },
  examples: [
    "npm run headend -- --bench",
    "npm run headend -- --concentrator tcp://127.0.0.1:4733 --concentrator /dev/ttyACM0 --db /var/lib/meterline/headend.db",
    "npm run headend -- --concentrator /dev/ttyUSB0 --mqtt mqtt://broker.local:1883 --homeassistant",
  ],
  notes: ["exit 0 when stopped (SIGINT, SIGTERM); 1 when a concentrator, the database or the broker cannot be reached at the start, or the --files folder cannot be read; 2 for a bad argument"],
};

export interface HeadendArgs {
  ports: string[];
  bench: boolean;
  db: string;
  mqtt?: string;
  mqttPort: number;
  httpPort: number;
  everyS: number;
  batch: number;
  timeoutS: number;
  speed: number;
  files: string;
  /** Home Assistant's discovery prefix with --homeassistant, else null. */
  homeassistant: string | null;
}

export function headendArgs(v: Parsed["values"]): HeadendArgs {
  const ports = (v.concentrator as unknown as string[] | undefined) ?? [];
  const bench = !!v.bench;
  if (!ports.length && !bench) throw new UsageError("give --concentrator PORT (one or more) or --bench");
  if (ports.length && bench) throw new UsageError("--bench runs its own concentrator: leave out --concentrator");
  for (const p of ports) {
    if (!/^tcp:\/\/[^:/]+:\d+$/.test(p) && !p.startsWith("/")) throw new UsageError(`--concentrator: "${p}" is neither a serial device path (/dev/...) nor tcp://host:port`);
  }
  if (new Set(ports).size !== ports.length) throw new UsageError("--concentrator: the same port twice");
  const mqtt = v.mqtt as string | undefined;
  if (mqtt !== undefined && !/^mqtts?:\/\/[^/]+(:\d+)?\/?$/.test(mqtt)) throw new UsageError(`--mqtt must be mqtt://host:port, got "${mqtt}"`);
  if (mqtt !== undefined && v["mqtt-port"] !== undefined) throw new UsageError("--mqtt-port is the embedded broker's: leave it out with --mqtt");
  if (v.speed !== undefined && !bench) throw new UsageError("--speed is for --bench");
  const haPrefix = v["homeassistant-prefix"] as string | undefined;
  if (haPrefix !== undefined && !v.homeassistant) throw new UsageError("--homeassistant-prefix is for --homeassistant");
  if (haPrefix !== undefined && !/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(haPrefix)) throw new UsageError(`--homeassistant-prefix must be topic levels of letters, digits, _ and -, got "${haPrefix}"`);
  const files = (v.files as string | undefined) ?? process.cwd();
  inputFile("--files", files, true);
  return {
    ports, bench, db: v.db as string, mqtt,
    mqttPort: int("--mqtt-port", v["mqtt-port"] as string | undefined, 0, 65535) ?? 1883,
    httpPort: int("--http", v.http as string | undefined, 0, 65535) ?? DEFAULT_HTTP_PORT,
    everyS: int("--every", v.every as string | undefined, 1, 86400) ?? (bench ? 1 : 10),
    batch: int("--batch", v.batch as string, 1, 1000)!,
    timeoutS: int("--timeout", v.timeout as string, 1, 600)!,
    speed: int("--speed", v.speed as string | undefined, 1, 100000) ?? 60,
    files: resolvePath(files),
    homeassistant: v.homeassistant ? haPrefix ?? DEFAULT_PREFIX : null,
  };
}

/** A running head-end and what it owns. */
export interface Running {
  headend: Headend;
  db: ReadingsDb;
  mqtt: Publisher;
  page: PageServer;
  bench: BenchNetwork | null;
  stop(): Promise<void>;
}

/** Opens the database and the broker, attaches every concentrator, starts pulling. */
export async function startHeadend(a: HeadendArgs, out: (l: string) => void): Promise<Running> {
  let db: ReadingsDb;
  if (/^postgres(ql)?:\/\//.test(a.db)) {
    try { db = await PgDb.open(a.db); } catch (e) { throw new ToolError(`--db ${a.db.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@")}: cannot use it: ${(e as Error).message}`); }
  } else {
    // on a thread of its own: its inserts and syncs do not stop the broker and the pulls (db-thread.ts)
    try { db = await ThreadedDb.open(a.db); } catch (e) { throw new ToolError(`--db ${a.db}: cannot open it as a SQLite database: ${(e as Error).message}`); }
  }
  let mqtt: Publisher;
  try {
    mqtt = a.mqtt ? await externalBroker(a.mqtt) : await embeddedBroker(a.mqttPort);
  } catch (e) {
    await db.close();
    throw new ToolError((e as Error).message);
  }
  // with the embedded broker this head-end is the only one answering commands; on an external
  // broker other head-ends may own the concentrators it does not know, so it stays quiet on them
  const headend = new Headend({ db, mqtt, batch: a.batch, timeoutMs: a.timeoutS * 1000, log: out, files: a.files, answerUnknown: !a.mqtt, homeassistant: a.homeassistant });
  let bench: BenchNetwork | null = null, page: PageServer | null = null;
  const held: Held[] = []; // each --concentrator port's console relay and announcement (relay.ts)
  const fail = async (e: unknown) => { await page?.close(); for (const x of held) await x.release(); await headend.stop(); bench?.stop(); await mqtt.close(); await db.close(); throw e instanceof ToolError ? e : new ToolError((e as Error).message); };
  try {
    const consoles: ConcentratorConsole[] = [];
    if (a.bench) {
      bench = benchNetwork({ speed: a.speed });
      consoles.push(bench.console);
    }
    for (const port of a.ports) {
      // one head-end owns a concentrator (its readings, its commands): another that holds the
      // port is named, rather than left to its console's refusal
      const other = heldBy(port);
      if (other) throw new ToolError(`${port} is held by another head-end (pid ${other.pid}, concentrator ${other.concentrator}), which owns its readings and commands: stop it, or attach this one to other concentrators`);
      const s = await openConsole({ port, timeoutMs: a.timeoutS * 1000 }).catch((e: Error & { code?: string }) => { throw new ToolError(`${e.message}${e.code ? ` (${e.code})` : ""}`); });
      s.on("unsolicited", (l: string) => out(`${port}: ${l}`));
      consoles.push(s);
    }
    for (const c of consoles) {
      const at = await headend.attach(c).catch(async (e: Error) => { await c.close(); throw e; });
      out(`headend: concentrator ${at.id} on ${c.port}: attached; its readings from store position ${await db.cursor(at.id)} on`);
      if (!(c instanceof ConsoleSession)) continue;
      const x = await hold(c, at.id);
      held.push(x);
      out(`headend: ${c.port}: console relay on ${x.relay.url} (npm run console and npm run deploy with --port ${c.port} go through it)`);
    }
    await headend.listen();
    page = await startPage(headend, a.httpPort);
  } catch (e) {
    return fail(e);
  }
  out(`headend: database ${db.file} (${db instanceof PgDb ? "PostgreSQL" : "SQLite"}: tables concentrators, meters, readings, events, cursors)`);
  out(`headend: MQTT broker ${mqtt.url}${a.mqtt ? "" : " (embedded)"}`);
  out(`headend: live page ${page!.url} (concentrators, meters, readings, plots, campaigns)`);
  const ids = headend.attached.map((x) => x.id);
  out(`headend: topics: meterline/<concentrator>/<meter>/<obis> (readings, JSON, retained), meterline/<concentrator>/status (online/offline), meterline/<concentrator>/<meter>/status`);
  out(`headend: commands: meterline/<concentrator>/cmd/<read|update|pause|resume|abort> (JSON), answered on meterline/<concentrator>/reply or /error; campaign progress on meterline/<concentrator>/campaign; images and tags from ${a.files}`);
  if (a.homeassistant) out(`headend: Home Assistant: each meter's energy, water and gas registers announced on ${a.homeassistant}/sensor/<unique_id>/config (retained)`);
  out(`headend: subscribe to everything: mosquitto_sub -L '${mqtt.url.replace(/\/$/, "")}/meterline/#' -v   (concentrators: ${ids.join(", ")})`);
  bench?.start();
  if (bench) out(`headend: bench: ${bench.meters.length} meters (${bench.meters.join(", ")}) on a simulated line, virtual time at ${a.speed}× the wall clock, a register round every virtual minute`);
  headend.run(a.everyS * 1000);
  out(`headend: running; Ctrl-C stops`);
  let stopped = false;
  return {
    headend, db, mqtt, page: page!, bench,
    async stop() {
      if (stopped) return;
      stopped = true;
      await page!.close();
      bench?.stop();
      for (const x of held) await x.release();
      await headend.stop();
      await mqtt.close();
      await db.close();
    },
  };
}

async function main({ values }: Parsed): Promise<number> {
  const a = headendArgs(values);
  const r = await startHeadend(a, (l) => console.log(l));
  await new Promise<void>((resolve) => {
    const done = () => { process.off("SIGINT", done); process.off("SIGTERM", done); resolve(); };
    process.on("SIGINT", done);
    process.on("SIGTERM", done);
  });
  await r.stop();
  console.log("headend: stopped");
  return 0;
}

if (isMain(import.meta.url)) cli(TOOL, main, { exit: true });
