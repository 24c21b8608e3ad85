/*
 * npm run console: runs commands at a board's console and prints what they printed, then exits.
 *
 *   npm run console -- --port P [--timeout MS] [--follow S] 'meterline.progress()' ['more()' ...]
 *
 * P is a serial device (/dev/ttyACM0) or tcp://host:port (a board runner). Each command's
 * printed lines come out as they are; its value as the REPL shows it ("=0"), unless it is
 * undefined. --timeout: how long one command may take (default 5000 ms). --follow S: print
 * the lines that come by themselves (a campaign's progress) for S more seconds.
 * Exit 0 when every command ran; 1 when one threw (its "Uncaught ..." lines are printed) or
 * the console failed (one line: the reason and its code: UNREACHABLE, TAKEN, NO_ANSWER,
 * CLOSED, REBOOTED); 2 for a bad argument, naming it.
 */
import { parseArgs } from "node:util";
import { ConsoleError, openConsole, parsePort } from "./session";

const USAGE = "usage: npm run console -- --port P [--timeout MS] [--follow S] 'command' ['command' ...]";

class UsageError extends Error {}

function options(argv: string[]) {
  let r;
  try {
    r = parseArgs({
      args: argv, strict: true, allowPositionals: true,
      options: { port: { type: "string" }, timeout: { type: "string", default: "5000" }, follow: { type: "string", default: "0" }, help: { type: "boolean", default: false } },
    });
  } catch (e) { throw new UsageError((e as Error).message); }
  const v = r.values;
  if (v.help) return null;
  if (!v.port) throw new UsageError("--port is required: a serial device or tcp://host:port");
  try { parsePort(v.port); } catch (e) { throw new UsageError(`--port: ${(e as Error).message}`); }
  const timeoutMs = Number(v.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 3_600_000) throw new UsageError(`--timeout must be whole ms from 100 to 3600000, got "${v.timeout}"`);
  const followS = Number(v.follow);
  if (!Number.isFinite(followS) || followS < 0 || followS > 86_400) throw new UsageError(`--follow must be seconds from 0 to 86400, got "${v.follow}"`);
  if (!r.positionals.length) throw new UsageError("no command given: put the JavaScript to run after the options, e.g. 'meterline.progress()'");
  return { port: v.port, timeoutMs, followS, commands: r.positionals };
}

export async function main(argv: string[], out: (l: string) => void = (l) => console.log(l), err: (l: string) => void = (l) => console.error(l)): Promise<number> {
  let o;
  try { o = options(argv); } catch (e) { err(`console: ${(e as Error).message}`); return 2; }
  if (!o) { out(USAGE); return 0; }
  let s;
  try {
    s = await openConsole({ port: o.port, timeoutMs: o.timeoutMs, reconnect: false });
  } catch (e) {
    if (e instanceof ConsoleError) { err(`console: ${e.message} (${e.code})`); return 1; }
    throw e;
  }
  let code = 0;
  try {
    for (const c of o.commands) {
      const a = await s.command(c);
      for (const l of a.lines) out(l);
      if (a.value !== undefined && a.value !== "undefined") out(`=${a.value}`);
      if (a.error) { err(`console: ${JSON.stringify(c)} threw: ${a.error.replace(/^Uncaught /, "")}`); code = 1; break; }
    }
    if (code === 0 && o.followS > 0) {
      s.on("unsolicited", (l: string) => out(l));
      await new Promise((r) => setTimeout(r, o.followS * 1000));
    }
  } catch (e) {
    if (!(e instanceof ConsoleError)) throw e;
    err(`console: ${e.message} (${e.code})`);
    code = 1;
  } finally {
    await s.close();
  }
  return code;
}

if (process.argv[1] && process.argv[1].endsWith("console.ts")) main(process.argv.slice(2)).then((c) => { process.exitCode = c; });
