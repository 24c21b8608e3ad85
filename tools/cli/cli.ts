/*
 * The host tools' one command-line convention, on node:util parseArgs (strict):
 *   --help / -h   prints what the tool does, its options with their defaults and an example; exit 0
 *   a usage error (an unknown option, a missing required one, a bad value): one line on stderr, exit 2
 *   a failure (a file that cannot be read or written, a board that does not answer): one line, exit 1
 * Files and folders the tool reads (an image, a tags or key file, a scenario, a device, a
 * folder of images): one that is missing or cannot be read is a failure, exit 1 (inputFile):
 * the command line was well formed, the file system did not hold what it names. The one
 * exception is an interpreter given as an argument (--espruino, --provision-with): it is the
 * program the tool runs, not data it reads, and is checked as a value is, before any work (no
 * build, no folder made), so one that is not an executable file is a usage error, exit 2
 * (interpreter).
 * Every line on stderr starts with the tool's name ("image: ..."). A tool describes itself
 * (a Tool, or a ToolGroup of subcommands such as keys new | concentrator | authorise) and
 * hands its main to runTool, which parses, prints help, and turns what main throws into the
 * exit code: UsageError 2; ToolError and anything else 1, as one line without a stack
 * (ML_DEBUG=1 prints the stack too).
 *
 *   const TOOL: Tool = { name: "image", run: "npm run image --", about: "...", options: {...}, examples: [...] };
 *   if (isMain(import.meta.url)) runTool(TOOL, process.argv.slice(2), (a) => { ...; return 0; });
 */
import { accessSync, constants, realpathSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** The command line is wrong: exit 2. */
export class UsageError extends Error {}
/** The command line was right but the work failed: exit 1. */
export class ToolError extends Error {}

export interface Option {
  type: "string" | "boolean";
  /** What the help says about it, one line. */
  help: string;
  /** The value's placeholder in the help and the usage line ("N", "FILE"); default "VALUE". */
  value?: string;
  short?: string;
  default?: string | boolean;
  /** Missing: a usage error "--name is required: <help>". */
  required?: boolean;
  /** A string option that may be given more than once: its value is a string[] (cast it). */
  multiple?: boolean;
}

export interface Tool {
  /** The name errors start with ("image", "keys authorise", "bench:real"). */
  name: string;
  /** How a person runs it, before the options ("npm run image --"). */
  run: string;
  /** The usage line after `run`, when the one made from the options does not say it (alternatives). */
  usage?: string;
  /** What it does: a few lines. */
  about: string;
  options: Record<string, Option>;
  /** Positional arguments: how the usage line shows them, what the help says, how many at least and the message when fewer; none when absent. */
  positionals?: { usage: string; help: string; min?: number; missing?: string };
  examples: string[];
  /** More lines at the end of the help (exit codes, notes). */
  notes?: string[];
}

/** A tool made of subcommands ("keys new", "keys authorise"), each a Tool with its own help. */
export interface ToolGroup {
  name: string;
  run: string;
  about: string;
  commands: Record<string, Tool>;
  examples: string[];
}

export type Values = Record<string, string | boolean | undefined>;

export interface Parsed {
  values: Values;
  positionals: string[];
  /** The tool (for a group: the subcommand) that was parsed. */
  tool: Tool;
}

const HELP: Option = { type: "boolean", short: "h", help: "this help" };

function optionLabel(name: string, o: Option): string {
  return `${o.short ? `-${o.short}, ` : ""}--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}${o.multiple ? " ..." : ""}`;
}

/** The usage line: the tool, its required options, [options] and its positionals. */
export function usageLine(t: Tool): string {
  if (t.usage) return `usage: ${t.run} ${t.usage}`;
  const req = Object.entries(t.options).filter(([, o]) => o.required).map(([n, o]) => `--${n}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`);
  const more = Object.values(t.options).some((o) => !o.required) ? ["[options]"] : [];
  return ["usage:", t.run, ...req, ...more, ...(t.positionals ? [t.positionals.usage] : [])].join(" ");
}

/** The whole help of a tool: usage line, what it does, options with defaults, examples. */
export function helpText(t: Tool): string {
  const opts = Object.entries({ ...t.options, help: HELP });
  const labels = opts.map(([n, o]) => optionLabel(n, o));
  const w = Math.max(...labels.map((l) => l.length), t.positionals ? t.positionals.usage.length : 0) + 2;
  const lines = [usageLine(t), "", ...t.about.split("\n"), ""];
  if (t.positionals) lines.push("arguments:", `  ${t.positionals.usage.padEnd(w)}${t.positionals.help}`, "");
  lines.push("options:");
  opts.forEach(([, o], i) => {
    const dflt = o.default !== undefined && o.default !== false ? ` (default ${o.default === true ? "on" : o.default})` : "";
    lines.push(`  ${labels[i].padEnd(w)}${o.help}${o.required ? " (required)" : ""}${dflt}`);
  });
  lines.push("", t.examples.length > 1 ? "examples:" : "example:", ...t.examples.map((e) => `  ${e}`));
  if (t.notes?.length) lines.push("", ...t.notes);
  return lines.join("\n");
}

export function groupHelpText(g: ToolGroup): string {
  const names = Object.keys(g.commands);
  const w = Math.max(...names.map((n) => n.length)) + 2;
  return [
    `usage: ${g.run} ${names.join(" | ")} [options]`, "", ...g.about.split("\n"), "",
    "commands:", ...names.map((n) => `  ${n.padEnd(w)}${g.commands[n].about.split("\n")[0]}`), "",
    `each command has its own help: ${g.run} ${names[0]} --help`, "",
    g.examples.length > 1 ? "examples:" : "example:", ...g.examples.map((e) => `  ${e}`),
  ].join("\n");
}

const wantsHelp = (argv: string[]) => {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
};

/** Node's parseArgs messages as one short line. */
function usageMessage(e: Error & { code?: string }): string {
  const m = e.message;
  let x;
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && (x = /^Unknown option '([^']+)'/.exec(m))) return `unknown option "${x[1]}" (--help lists the options)`;
  if (e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL" && (x = /^Unexpected argument '([^']*)'/.exec(m))) return `unexpected argument "${x[1]}" (--help lists the options)`;
  if ((x = /^Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument (?:missing|is ambiguous)/.exec(m))) return `${x[1]} needs a value`;
  if ((x = /^Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(m))) return `${x[1]} takes no value`;
  return m.split("\n")[0].replace(/\. To specify.*$/, "");
}

/** Parses `argv` for `t`: null when it asked for help; a UsageError when the line is wrong. */
export function parseTool(t: Tool, argv: string[]): Parsed | null {
  if (wantsHelp(argv)) return null;
  const options: Record<string, { type: "string" | "boolean"; short?: string; default?: string | boolean; multiple?: boolean }> = {};
  for (const [n, o] of Object.entries(t.options)) options[n] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.default !== undefined ? { default: o.default } : {}), ...(o.multiple ? { multiple: true } : {}) };
  let r;
  try {
    r = parseArgs({ args: argv, options, strict: true, allowPositionals: !!t.positionals });
  } catch (e) {
    throw new UsageError(usageMessage(e as Error & { code?: string }));
  }
  for (const [n, o] of Object.entries(t.options)) {
    const v = r.values[n];
    if (o.required && (v === undefined || v === "" || (Array.isArray(v) && !v.length))) throw new UsageError(`--${n} is required: ${o.help}`);
    if (o.type === "string" && (v === "" || (Array.isArray(v) && v.includes("")))) throw new UsageError(`--${n} needs a value`);
  }
  if (t.positionals && r.positionals.length < (t.positionals.min ?? 0)) throw new UsageError(t.positionals.missing ?? `${t.positionals.usage} is required: ${t.positionals.help}`);
  return { values: r.values as Values, positionals: r.positionals, tool: t };
}

/** The exit code for what a main threw, after printing it as one line. */
function failed(name: string, e: unknown, err: (l: string) => void): number {
  const msg = e instanceof Error ? e.message : String(e);
  err(`${name}: ${msg.split("\n")[0]}`);
  if (process.env.ML_DEBUG && e instanceof Error && !(e instanceof UsageError || e instanceof ToolError)) err(e.stack ?? "");
  return e instanceof UsageError ? 2 : 1;
}

export type Main = (a: Parsed) => number | void | Promise<number | void>;

export interface RunOptions {
  out?: (l: string) => void;
  err?: (l: string) => void;
}

/**
 * Runs a tool's main under the convention and returns its exit code (it does not exit): help
 * 0; a usage error 2; a failure 1; otherwise what main returned (0 for nothing).
 */
export async function runTool(t: Tool | ToolGroup, argv: string[], main: Main, o: RunOptions = {}): Promise<number> {
  const out = o.out ?? ((l: string) => console.log(l)), err = o.err ?? ((l: string) => console.error(l));
  let name = t.name;
  try {
    let tool: Tool;
    let args = argv;
    if ("commands" in t) {
      const sub = argv[0];
      if (sub === "--help" || sub === "-h") { out(groupHelpText(t)); return 0; }
      if (sub === undefined) throw new UsageError(`a command is required: ${Object.keys(t.commands).join(", ")} (--help says more)`);
      if (!Object.hasOwn(t.commands, sub)) throw new UsageError(`unknown command "${sub}" (the commands: ${Object.keys(t.commands).join(", ")})`);
      tool = t.commands[sub];
      name = tool.name;
      args = argv.slice(1);
    } else tool = t;
    const p = parseTool(tool, args);
    if (!p) { out(helpText(tool)); return 0; }
    return (await main(p)) ?? 0;
  } catch (e) {
    return failed(name, e, err);
  }
}

/**
 * Runs a tool as the process: sets the exit code when main is done. With `exit`, ends the
 * process then (for mains that leave handles open: timers, child processes, ports).
 */
export function cli(t: Tool | ToolGroup, main: Main, o: { exit?: boolean } = {}): void {
  // output piped into a reader that stops early (| head): end quietly
  process.stdout.on("error", (e: NodeJS.ErrnoException) => { if (e.code === "EPIPE") process.exit(process.exitCode ?? 0); else throw e; });
  runTool(t, process.argv.slice(2), main).then((code) => {
    process.exitCode = code;
    if (o.exit) process.exit(code);
  });
}

/** True when the module at `url` (import.meta.url) is the script node was started with. */
export function isMain(url: string): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(resolve(process.argv[1])) === realpathSync(fileURLToPath(url));
  } catch {
    return false;
  }
}

/** A whole number from `lo` to `hi` in option `flag`'s text; undefined stays undefined. */
export function int(flag: string, text: string | undefined, lo: number, hi: number, what = `a whole number from ${lo} to ${hi}`): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === "" || !Number.isInteger(n) || n < lo || n > hi) throw new UsageError(`${flag} must be ${what}, got "${text}"`);
  return n;
}

/** A comma-separated list of whole numbers from `lo` to `hi`. */
export function intList(flag: string, text: string, lo: number, hi: number): number[] {
  return text.split(",").map((x) => int(flag, x.trim(), lo, hi)!);
}

/** One of `choices`, or a usage error naming them. */
export function oneOf<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) {
    const list = choices.length > 1 ? `${choices.slice(0, -1).join(", ")} or ${choices[choices.length - 1]}` : choices[0];
    throw new UsageError(`${flag} must be ${list}, got "${text}"`);
  }
  return text as T;
}

/** An interpreter given as `flag` (made absolute): a usage error naming it when it is not an executable file, before any work. */
export function interpreter(flag: string, path: string): string {
  const abs = resolve(path);
  let ok = false;
  try { accessSync(abs, constants.X_OK); ok = statSync(abs).isFile(); } catch { ok = false; }
  if (!ok) throw new UsageError(`${flag} ${path}: not an executable file`);
  return abs;
}

/**
 * An input file (or, with `folder`, a folder) the tool reads, given as `flag` ("" for a
 * positional): a failure naming it and why when it is missing or cannot be read.
 */
export function inputFile(flag: string, path: string, folder = false): void {
  let why = "";
  try {
    const st = statSync(path);
    if (folder ? !st.isDirectory() : st.isDirectory()) why = folder ? "not a folder" : "it is a folder";
    else accessSync(path, constants.R_OK);
  } catch (e) {
    const x = e as NodeJS.ErrnoException;
    why = x.code === "ENOENT" || x.code === "ENOTDIR" ? (folder ? "no such folder" : "no such file") : x.code === "EACCES" || x.code === "EPERM" ? "permission denied" : x.code ?? x.message;
  }
  if (why) throw new ToolError(`${flag ? `${flag} ` : ""}${path}: cannot read it: ${why}`);
}

/** Checks before a long run that an output file's folder is there: a failure naming it if not. */
export function outputFolder(flag: string, path: string): void {
  let ok = false;
  try { ok = statSync(dirname(resolve(path))).isDirectory(); } catch { ok = false; }
  if (!ok) throw new ToolError(`${flag} ${path}: cannot write it: no such folder`);
}

/** Writes an output file; a path that cannot be written is one line naming it and why (a failure). */
export function writeOutput(flag: string, path: string, data: string | Uint8Array, mode?: number): void {
  try {
    writeFileSync(path, data, mode === undefined ? undefined : { mode });
  } catch (e) {
    const x = e as NodeJS.ErrnoException;
    const why = x.code === "ENOENT" ? "no such folder" : x.code === "EISDIR" ? "it is a folder" : x.code === "EACCES" || x.code === "EPERM" ? "permission denied" : x.code === "ENOSPC" ? "no space left on the device" : x.code ?? x.message;
    throw new ToolError(`${flag} ${path}: cannot write it: ${why}`);
  }
}
