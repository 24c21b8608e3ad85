/*
 * npm run line: the simulated power line as a process of its own, for boards whose modem
 * UART is a serial device or a pseudo-terminal (the Espruino Linux build under npm run
 * board, its --modem-path one end of a socat pair, this tool holding the other end). The
 * host plays each board's ST7580 (hal/mock/st7580-modem.ts) on one line (hal/mock/powerline.ts)
 * with its loss model, its virtual clock held to the wall clock: what npm run bench:real
 * does inside its run (bench/real-parts.ts bridgeLine), for a network a person drives with
 * flash.sh, the console, deploy and the head-end (docs/walkthrough.md).
 *
 *   npm run line -- --node conc=/tmp/net/conc-line --node m1001=/tmp/net/m1001-line [--loss 5]
 */
import { LinkRig, lineFor } from "../../bench/rig";
import { lossModel } from "../../bench/run";
import { bridgeLine, type Bridge } from "../../bench/real-parts";
import { cli, int, isMain, ToolError, UsageError, type Parsed, type Tool } from "../cli/cli";

export const TOOL: Tool = {
  name: "line", run: "npm run line --",
  about: "The simulated power line for boards on serial devices or pseudo-terminals: the host plays each board's\nST7580 modem on one line (9,600 bit/s B-PSK, frame loss in bursts) in real time, until Ctrl-C or SIGTERM.\nEach --node is the host's end of a board's modem UART (the other end of the socat pair whose first end\nis the board's --modem-path).",
  options: {
    node: { type: "string", value: "NAME=PATH", multiple: true, required: true, help: "a board on the line: a name for the log, = the host's end of its modem UART (repeat for each board)" },
    loss: { type: "string", value: "PCT", default: "0", help: "frames lost on the line, percent, in bursts of 3 on average" },
    seed: { type: "string", value: "N", default: "1", help: "the seed of the line's random choices (losses, back-offs)" },
    every: { type: "string", value: "S", default: "60", help: "print each node's frames sent and received every S seconds (0: never)" },
  },
  examples: ["npm run line -- --node conc=/tmp/net/conc-line --node m1001=/tmp/net/m1001-line --loss 5"],
  notes: ["runs until Ctrl-C or SIGTERM, then exit 0; 1 when a node's device cannot be opened; 2 for a bad argument"],
};

export interface LineOpts { nodes: { name: string; path: string }[]; lossPct: number; seed: number; everyS: number }

export function options({ values: v }: Parsed): LineOpts {
  const nodes = (v.node as unknown as string[]).map((s) => {
    const m = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(s);
    if (!m) throw new UsageError(`--node must be NAME=PATH (a name, then the host's end of the board's modem UART), got "${s}"`);
    return { name: m[1], path: m[2] };
  });
  const names = new Set<string>();
  for (const n of nodes) { if (names.has(n.name)) throw new UsageError(`--node: the name "${n.name}" is given twice`); names.add(n.name); }
  const loss = Number(v.loss);
  if (!(v.loss !== "" && loss >= 0 && loss < 100)) throw new UsageError(`--loss must be a percentage from 0 to below 100, got "${v.loss}"`);
  return { nodes, lossPct: loss, seed: int("--seed", v.seed as string, 0, 2 ** 31 - 1)!, everyS: int("--every", v.every as string, 0, 86400)! };
}

export interface Line { rig: LinkRig; bridges: Map<string, Bridge>; stop(): void }

/** Opens every node's device and puts it on one line; rejects with a ToolError naming the node that cannot be opened. */
export async function startLine(o: LineOpts): Promise<Line> {
  const rig = new LinkRig("st7580", lineFor("st7580", o.seed, { defaults: lossModel(o.lossPct / 100, 3) }));
  const w0 = Date.now();
  // the line's virtual clock held to the wall clock
  const ticker = setInterval(() => { const d = Date.now() - w0 - rig.clock.now(); if (d > 0) rig.clock.advance(d); }, 5);
  const bridges = new Map<string, Bridge>();
  const stop = () => { clearInterval(ticker); for (const b of bridges.values()) b.close(); };
  try {
    let k = 0;
    for (const n of o.nodes) bridges.set(n.name, await bridgeLine(rig, n.name, n.path, o.seed * 31 + ++k));
  } catch (e) {
    stop();
    throw new ToolError((e as Error).message);
  }
  return { rig, bridges, stop };
}

async function main(p: Parsed): Promise<number> {
  const o = options(p);
  const line = await startLine(o);
  const say = (s: string) => console.log(`line: ${s}`);
  for (const n of o.nodes) say(`${n.name} on ${n.path}`);
  say(`${o.nodes.length} nodes on one ST7580 line, 9600 bit/s, ${o.lossPct}% of frames lost${o.lossPct ? " in bursts of 3" : ""}; Ctrl-C to stop`);
  const report = () => {
    for (const n of o.nodes) {
      const c = line.rig.line.node(n.name).counters;
      say(`${n.name}: sent ${c.txFrames} frames (${(c.airtimeMs / 1000).toFixed(1)} s on air), received ${c.rxFrames}, lost ${c.rxLost}, collided ${c.rxCollided}`);
    }
  };
  const tick = o.everyS ? setInterval(report, o.everyS * 1000) : null;
  return new Promise((resolve) => {
    const end = (sig: string) => { if (tick) clearInterval(tick); report(); say(`${sig}: stopping`); line.stop(); resolve(0); };
    process.once("SIGINT", () => end("SIGINT"));
    process.once("SIGTERM", () => end("SIGTERM"));
  });
}

if (isMain(import.meta.url)) cli(TOOL, main);
