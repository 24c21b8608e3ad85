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
 * Bad arguments exit 2 with one line naming the argument.
 */
import { parseArgs } from "node:util";
import { BoardError, startBoard, type Life } from "./runner";

const USAGE = "usage: npm run board -- --role meter|concentrator --folder DIR --espruino PATH --console PORT [--cut-random MIN-MAX] [--quiet]";

class UsageError extends Error {}

function options(argv: string[]) {
  let v;
  try {
    v = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        role: { type: "string" }, folder: { type: "string" }, espruino: { type: "string" }, console: { type: "string" },
        "cut-random": { type: "string" }, quiet: { type: "boolean", default: false }, help: { type: "boolean", default: false },
      },
    }).values;
  } catch (e) { throw new UsageError((e as Error).message); }
  if (v.help) return null;
  if (v.role !== "meter" && v.role !== "concentrator") throw new UsageError(v.role === undefined ? "--role is required: meter or concentrator" : `--role must be meter or concentrator, got "${v.role}"`);
  if (!v.folder) throw new UsageError("--folder is required: the board's folder (its flash file espruino.flash lives there)");
  if (!v.espruino) throw new UsageError("--espruino is required: the Espruino Linux build to run");
  if (v.console === undefined) throw new UsageError("--console is required: the TCP port to serve the board's console on (0: any free one)");
  const port = Number(v.console);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--console must be a TCP port from 0 to 65535, got "${v.console}"`);
  let cutRandom: { minMs: number; maxMs: number } | undefined;
  if (v["cut-random"] !== undefined) {
    const m = /^(\d+)-(\d+)$/.exec(v["cut-random"]);
    if (!m || +m[1] > +m[2]) throw new UsageError(`--cut-random must be MIN-MAX in ms with MIN <= MAX, got "${v["cut-random"]}"`);
    cutRandom = { minMs: +m[1], maxMs: +m[2] };
  }
  return { role: v.role as "meter" | "concentrator", folder: v.folder, espruino: v.espruino, port, cutRandom, quiet: v.quiet! };
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

async function main(argv: string[]): Promise<number> {
  let o;
  try { o = options(argv); } catch (e) { console.error(`board: ${(e as Error).message}`); return 2; }
  if (!o) { console.log(USAGE); return 0; }
  let b;
  try {
    b = await startBoard({ espruino: o.espruino, folder: o.folder, role: o.role, consolePort: o.port, cutRandom: o.cutRandom });
  } catch (e) {
    if (e instanceof BoardError) { console.error(`board: ${e.message}`); return 2; }
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
    const end = (sig: string) => { say(`${sig}: stopping`); board.stop().then(() => resolve(0)); };
    process.once("SIGINT", () => end("SIGINT"));
    process.once("SIGTERM", () => end("SIGTERM"));
  });
}

if (process.argv[1] && process.argv[1].endsWith("board.ts")) main(process.argv.slice(2)).then((c) => { process.exitCode = c; });
