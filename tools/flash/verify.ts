/*
 * flash.sh's last step: after the espruino CLI uploaded the provisioning plan, check that the
 * board answers and that the program it was given has started.
 *
 *   node --import tsx tools/flash/verify.ts --port P --role meter|concentrator --id N [--timeout S]
 *
 * The firmware's word for "started": a program that runs sets global.mlUp = 1 and prints
 * one line "meterline: <role> <id> started". Boot problems print lines starting
 * "meterline boot:", configuration problems a line starting "meterline:"; the reason quotes
 * such a line with its error codes named (tools/errors/table.ts).
 *
 * Steps: (1) an empty command, answered once the interpreter has taken the whole upload (the
 * CLI returns as soon as it has written it; the Linux build reads its console at about 9 kB/s),
 * asked again every 3 s until answered (the session's resync()): the plan ends with load(),
 * which clears the input line typed so far, so a command that arrives half typed at that
 * moment is never answered (seen on LINUX meters: "Uncaught SyntaxError" over its tail);
 * (2) the started line, from the plan's own load(), within a few seconds; if it does not come,
 * load() once more and wait again; (3) when it still does not come, ask the board
 * [global.mlUp, E.getErrorFlags(), variables in use and total] and say why. Exit 0 with one
 * line when the program started; 1 with the reason otherwise; 2 for a bad argument.
 */
import { ConsoleError, openConsole, parsePort, type ConsoleSession } from "../console/session";
import { cli, int, isMain, oneOf, ToolError, UsageError, type Parsed, type Tool } from "../cli/cli";
import { nameCodes } from "../errors/table";

export interface VerifyOptions { role: "meter" | "concentrator"; id: number; timeoutMs: number; graceMs?: number }
export type Verdict = { ok: true; line: string } | { ok: false; reason: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Checks that the board at the session's port answers and runs `role` `id`. Never throws ConsoleError: it becomes the reason. */
export async function verifyStarted(s: ConsoleSession, o: VerifyOptions): Promise<Verdict> {
  const want = `meterline: ${o.role} ${o.id} started`;
  let started: string | null = null, other: string | null = null, problem: string | null = null;
  const seen = (l: string) => {
    if (/^meterline: (meter|concentrator) \d+ started$/.test(l)) { if (l === want) started = l; else other = l; }
    else if (/^meterline boot:/.test(l) || (/^meterline:/.test(l) && !/^meterline: provisioned /.test(l))) problem ??= nameCodes(l);
  };
  s.on("line", seen);
  const until = async (ms: number) => { const end = Date.now() + ms; while (!started && !other && Date.now() < end) await sleep(50); };
  try {
    try {
      await s.resync(o.timeoutMs);
    } catch (e) {
      if (!(e instanceof ConsoleError)) throw e;
      return { ok: false, reason: e.code === "NO_ANSWER" ? `the board at ${s.port} did not answer within ${o.timeoutMs / 1000} s` : `${e.message} (${e.code})` };
    }
    await until(o.graceMs ?? 3000);
    if (!started && !other) {
      await s.command("load()", { echo: false, timeoutMs: o.timeoutMs }).catch(() => undefined);
      await until(o.timeoutMs);
    }
    if (started) return { ok: true, line: started };
    if (other) return { ok: false, reason: `the board runs another program: "${other}", expected "${want}"` };
    let state: string;
    try {
      const a = await s.command(`print(JSON.stringify([global.mlUp||0,E.getErrorFlags(),process.memory().usage,process.memory().total]))`, { echo: false, timeoutMs: o.timeoutMs });
      const [up, flags, usage, total] = JSON.parse(a.lines[a.lines.length - 1]) as [number, string[], number, number];
      if (up) return { ok: true, line: `${o.role} ${o.id} is up (mlUp set) though its started line was not seen` };
      state = `mlUp unset, error flags ${flags.length ? flags.join(",") : "none"}, ${usage} of ${total} variables in use`;
      if (flags.includes("MEMORY")) return { ok: false, reason: `the program did not start: it ran out of memory (${state})${problem ? `; the board said "${problem}"` : ""}` };
    } catch (e) {
      state = e instanceof ConsoleError ? `no state: ${e.code}` : `no state: ${(e as Error).message}`;
    }
    return { ok: false, reason: `the program did not start within ${o.timeoutMs / 1000} s${problem ? `: the board said "${problem}"` : ` (no "${want}" line)`} (${state})` };
  } finally {
    s.off("line", seen);
  }
}

export const TOOL: Tool = {
  name: "flash", run: "node --import tsx tools/flash/verify.ts",
  about: "flash.sh's last step: checks that the board answers and that the program it was given started.",
  options: {
    port: { type: "string", value: "P", required: true, help: "the board's serial device or tcp://host:port" },
    role: { type: "string", value: "R", required: true, help: "meter or concentrator" },
    id: { type: "string", value: "N", required: true, help: "the id in the started line" },
    timeout: { type: "string", value: "S", default: "20", help: "seconds to wait for the started line" },
  },
  examples: ["node --import tsx tools/flash/verify.ts --port tcp://127.0.0.1:4733 --role meter --id 7"],
  notes: ["exit 0 when the program started; 1 with the reason; 2 for a bad argument"],
};

async function main({ values: v }: Parsed): Promise<number> {
  try { parsePort(v.port as string); } catch (e) { throw new UsageError(`--port: ${(e as Error).message}`); }
  const role = oneOf("--role", v.role as string, ["meter", "concentrator"] as const);
  const id = int("--id", v.id as string, 0, 0xffffffff)!;
  const timeoutS = int("--timeout", v.timeout as string, 1, 86400, "whole seconds")!;
  let s: ConsoleSession;
  try {
    s = await openConsole({ port: v.port as string, reconnect: false });
  } catch (e) {
    if (!(e instanceof ConsoleError)) throw e;
    throw new ToolError(`cannot reach the board to check it: ${e.message} (${e.code})`);
  }
  try {
    const r = await verifyStarted(s, { role, id, timeoutMs: timeoutS * 1000 });
    if (r.ok) { console.log(`flash: ${r.line}`); return 0; }
    throw new ToolError(r.reason);
  } finally {
    await s.close();
  }
}

if (isMain(import.meta.url)) cli(TOOL, main);
