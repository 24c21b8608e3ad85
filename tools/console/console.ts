/*
 * npm run console: runs commands at a board's console and prints what they printed, then exits.
 *
 *   npm run console -- --port P [--timeout MS] [--follow S] [--upload FILE:NAME] 'meterline.progress()' ['more()' ...]
 *
 * --upload FILE:NAME writes a file into the board's Storage first, as deploy writes an image
 * (base64 chunks, checked by length and CRC-32 read back), e.g. a key rotation file
 * (npm run keys -- rotate) before 'meterline.rotate("NAME")'.
 * P is a serial device (/dev/ttyACM0) or tcp://host:port (a board runner). Each command's
 * printed lines come out as they are, with the device's error codes named ("(E93)" becomes
 * "(E93 CAMPAIGN_ABORTED: ...)", tools/errors/table.ts); its value as the REPL shows it
 * ("=0"), unless it is undefined. --timeout: how long one command may take (default 5000 ms).
 * --follow S: print the lines that come by themselves (a campaign's progress) for S more seconds.
 * A port a running head-end holds (tools/console/owner.ts) is opened through the head-end's
 * console relay, with one line on stderr saying so; --direct refuses that and fails naming it.
 * Exit 0 when every command ran; 1 when one threw (its "Uncaught ..." lines are printed) or
 * the console failed (one line: the reason and its code: UNREACHABLE, TAKEN, NO_ANSWER,
 * CLOSED, REBOOTED); 2 for a bad argument, naming it (tools/cli/cli.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { cli, int, isMain, runTool, ToolError, UsageError, type Parsed, type Tool } from "../cli/cli";
import { nameCodes } from "../errors/table";
import { ConsoleError, openConsole, parsePort } from "./session";
import { route, throughLine } from "./owner";

export const TOOL: Tool = {
  name: "console", run: "npm run console --",
  about: "Runs JavaScript commands at a board's console (a serial device or a board runner's tcp://host:port),\nprints what each printed (device error codes named) and its value, then exits.",
  options: {
    port: { type: "string", value: "P", required: true, help: "a serial device or tcp://host:port" },
    timeout: { type: "string", value: "MS", default: "5000", help: "how long one command may take, ms" },
    follow: { type: "string", value: "S", default: "0", help: "then print the lines that come by themselves for S more seconds" },
    direct: { type: "boolean", default: false, help: "never through a head-end that holds the port: fail naming it instead" },
    upload: { type: "string", value: "FILE:NAME", help: "first write FILE into the board's Storage as NAME (1 to 28 characters), checked by read-back" },
  },
  positionals: { usage: "'command' ...", help: "the JavaScript to run, one command per argument", min: 1, missing: "no command given: put the JavaScript to run after the options, e.g. 'meterline.progress()'" },
  examples: ["npm run console -- --port /dev/ttyACM1 'meterline.progress()'", "npm run console -- --port tcp://127.0.0.1:4733 --upload rot.bin:rot.up --follow 60 'meterline.rotate(\"rot.up\")'", "npm run console -- --port tcp://127.0.0.1:4733 --follow 60 'meterline.meters()'"],
  notes: ["exit 0 when every command ran; 1 when one threw or the console failed (UNREACHABLE, TAKEN, NO_ANSWER,\nCLOSED, REBOOTED) or the port is held by a head-end and --direct was given; 2 for a bad argument",
    "a port a running head-end holds is used through the head-end's console relay (one line on stderr says so)"],
};

function options(a: Parsed) {
  const v = a.values as Record<string, string>;
  try { parsePort(v.port); } catch (e) { throw new UsageError(`--port: ${(e as Error).message}`); }
  const timeoutMs = int("--timeout", v.timeout, 100, 3_600_000, "whole ms from 100 to 3600000")!;
  const followS = Number(v.follow);
  if (!Number.isFinite(followS) || followS < 0 || followS > 86_400) throw new UsageError(`--follow must be seconds from 0 to 86400, got "${v.follow}"`);
  let upload: { file: string; name: string; bytes: Uint8Array } | null = null;
  if (v.upload !== undefined) {
    const m = /^(.+):([^:/]{1,28})$/.exec(v.upload);
    if (!m) throw new UsageError(`--upload must be FILE:NAME, NAME 1 to 28 characters without ":" or "/", got "${v.upload}"`);
    if (!existsSync(m[1])) throw new ToolError(`--upload ${m[1]}: no such file`);
    upload = { file: m[1], name: m[2], bytes: new Uint8Array(readFileSync(m[1])) };
  }
  return { port: v.port, timeoutMs, followS, commands: a.positionals, direct: !!a.values.direct, upload };
}

async function session(a: Parsed, out: (l: string) => void, err: (l: string) => void): Promise<number> {
  const o = options(a);
  // a port a running head-end holds is opened through its relay (owner.ts), saying so on stderr
  const r = route(o.port, o.direct);
  if (r.via) err(`console: ${throughLine(o.port, r.via)}`);
  let s;
  try {
    s = await openConsole({ port: r.url, timeoutMs: o.timeoutMs, reconnect: false });
  } catch (e) {
    if (e instanceof ConsoleError) throw new ToolError(`${e.message} (${e.code})`);
    throw e;
  }
  let code = 0;
  try {
    if (o.upload) {
      const w = await s.writeFile(o.upload.name, o.upload.bytes, { timeoutMs: Math.max(o.timeoutMs, 15_000) });
      err(`console: ${o.upload.file} written to ${o.port} as ${o.upload.name} and read back: ${w.length} bytes, CRC-32 ${w.crc.toString(16).padStart(8, "0")}`);
    }
    for (const c of o.commands) {
      const r = await s.command(c);
      for (const l of r.lines) out(nameCodes(l));
      if (r.value !== undefined && r.value !== "undefined") out(`=${r.value}`);
      if (r.error) { err(`console: ${JSON.stringify(c)} threw: ${r.error.replace(/^Uncaught /, "")}`); code = 1; break; }
    }
    if (code === 0 && o.followS > 0) {
      s.on("unsolicited", (l: string) => out(nameCodes(l)));
      await new Promise((r) => setTimeout(r, o.followS * 1000));
    }
  } catch (e) {
    if (!(e instanceof ConsoleError)) throw e;
    throw new ToolError(`${e.message} (${e.code})`);
  } finally {
    await s.close();
  }
  return code;
}

/** The console command on `argv`: its exit code; lines go to `out`, errors to `err`. */
export function main(argv: string[], out: (l: string) => void = (l) => console.log(l), err: (l: string) => void = (l) => console.error(l)): Promise<number> {
  return runTool(TOOL, argv, (a) => session(a, out, err), { out, err });
}

if (isMain(import.meta.url)) cli(TOOL, (a) => session(a, (l) => console.log(l), (l) => console.error(l)));
