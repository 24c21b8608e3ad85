/*
 * npm run board: runs an Espruino Linux build as a board (tools/board/runner.ts) until
 * Ctrl-C or SIGTERM, logging each life and the console's lines.
 *
 *   npm run board -- --role meter|concentrator --folder DIR --espruino PATH --console PORT
 *                    [--cut-random MIN-MAX] [--quiet]
 *
 * --console: the TCP port the board's console is served on (flash.sh --port tcp://127.0.0.1:PORT);
 * 0 picks a free one. --cut-random 200-3000: each life is cut (kill -9, a power cut) at a
 * random moment 200 to 3,000 ms after its start. --quiet: lives only, not the console's lines.
 * Bad arguments exit 2 with one line naming the argument; a board that cannot start exits 1
 * (tools/cli/cli.ts).
 */
import { BoardError, startBoard, type Life } from "./runner";
import { cli, int, isMain, oneOf, ToolError, UsageError, type Parsed, type Tool } from "../cli/cli";

export const TOOL: Tool = {
  name: "board", run: "npm run board --",
  about: "Runs an Espruino Linux build as a board until Ctrl-C or SIGTERM: its folder is its flash, its console\na TCP port of its own, restarted when it exits (its reboot); logs each life and the console's lines.",
  options: {
    role: { type: "string", value: "R", required: true, help: "meter or concentrator" },
    folder: { type: "string", value: "DIR", required: true, help: "the board's folder (its flash file espruino.flash lives there)" },
    espruino: { type: "string", value: "PATH", required: true, help: "the Espruino Linux build to run" },
    console: { type: "string", value: "PORT", required: true, help: "the TCP port to serve the board's console on (0: any free one)" },
    "cut-random": { type: "string", value: "MIN-MAX", help: "cut each life (kill -9, a power cut) at a random moment MIN to MAX ms after its start" },
    quiet: { type: "boolean", default: false, help: "lives only, not the console's lines" },
  },
  examples: ["npm run board -- --role concentrator --folder run/c1 --espruino ~/Espruino/espruino --console 4733"],
  notes: ["runs until Ctrl-C or SIGTERM, then exit 0; 1 when the board cannot start; 2 for a bad argument"],
};

function options({ values: v }: Parsed) {
  const role = oneOf("--role", v.role as string, ["meter", "concentrator"] as const);
  const port = int("--console", v.console as string, 0, 65535, "a TCP port from 0 to 65535")!;
  let cutRandom: { minMs: number; maxMs: number } | undefined;
  const cut = v["cut-random"] as string | undefined;
  if (cut !== undefined) {
    const m = /^(\d+)-(\d+)$/.exec(cut);
    if (!m || +m[1] > +m[2]) throw new UsageError(`--cut-random must be MIN-MAX in ms with MIN <= MAX, got "${cut}"`);
    cutRandom = { minMs: +m[1], maxMs: +m[2] };
  }
  return { role, folder: v.folder as string, espruino: v.espruino as string, port, cutRandom, quiet: !!v.quiet };
}

const clock = (t: number) => new Date(t).toISOString().slice(11, 23);

export function describeEnd(l: Life): string {
  const took = `${(((l.end ?? Date.now()) - l.start) / 1000).toFixed(1)} s`;
  const how = l.how === "cut" ? "power cut (kill -9)"
    : l.how === "stop" ? "stopped"
    : l.reboot ? "reboot (E.reboot: exit 1)"
    : l.signal ? `killed by ${l.signal}` : `exit ${l.code}`;
  return `life ${l.n} ended at ${clock(l.end ?? Date.now())} after ${took}: ${how}`;
}

async function main(p: Parsed): Promise<number> {
  const o = options(p);
  // the handlers before the first line: a supervisor that stops the runner as soon as it
  // reads "life 1 started" must find them there (until Node's handler is installed, a
  // SIGTERM kills the process at once: seen as a runner that died instead of stopping)
  let stopWith: ((sig: string) => void) | null = null, early = "";
  const onSignal = (sig: string) => { if (stopWith) stopWith(sig); else early = early || sig; };
  process.once("SIGINT", () => onSignal("SIGINT"));
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  let b;
  try {
    b = await startBoard({ espruino: o.espruino, folder: o.folder, role: o.role, consolePort: o.port, cutRandom: o.cutRandom });
  } catch (e) {
    // a bad --espruino is the command line's fault; a port in use is not
    if (e instanceof BoardError) throw e.message.startsWith("--") ? new UsageError(e.message) : new ToolError(e.message);
    throw e;
  }
  const board = b;
  const say = (s: string) => console.log(`board ${o.role}: ${s}`);
  say(`console on ${board.url}, folder ${o.folder}`);
  for (const l of board.lives) say(`life ${l.n} started at ${clock(l.start)} (pid ${l.pid})`);
  board.on("life-start", (l: Life) => say(`life ${l.n} started at ${clock(l.start)} (pid ${l.pid})`));
  board.on("life-end", (l: Life) => say(describeEnd(l)));
  board.on("client", (a: string) => say(`console client ${a} connected`));
  board.on("client-end", (a: string) => say(`console client ${a} left`));
  board.on("error", (e: Error) => say(`error: ${e.message}`));
  if (!o.quiet) board.on("line", (line: string) => console.log(`  | ${line}`));
  return new Promise((resolve) => {
    stopWith = (sig: string) => { say(`${sig}: stopping`); board.stop().then(() => resolve(0)); };
    if (early) stopWith(early);
  });
}

if (isMain(import.meta.url)) cli(TOOL, main);
