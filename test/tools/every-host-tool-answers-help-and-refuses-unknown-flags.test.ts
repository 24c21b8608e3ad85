import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Every host tool under the one convention (tools/cli/cli.ts; flash.sh by hand): --help
 * prints a usage line, the options and an example, exit 0; an unknown option is one line on
 * stderr, exit 2. The tools are package.json's scripts, run as their script runs them (node
 * --import tsx FILE, without npm), plus flash.sh and each keys command.
 */
const scripts = (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }).scripts;
/** Scripts that are not a tool with options of its own. */
const NOT_TOOLS = ["build", "typecheck", "test"];

interface Run { status: number | null; stdout: string; stderr: string; ms: number }

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: "utf8", timeout: 60_000, ...(env ? { env } : {}) }, (e, stdout, stderr) => {
      resolve({ status: e ? (typeof e.code === "number" ? e.code : null) : 0, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** A script's command as a process: "node --import tsx FILE ARGS" without npm. */
function commandOf(script: string): [string, string[]] {
  const words = scripts[script].split(/\s+/);
  expect(words.slice(0, 3), script).toEqual(["node", "--import", "tsx"]);
  return [process.execPath, words.slice(1)];
}

/** What an error line of each tool starts with. */
const PREFIX: Record<string, string> = { start: "bench", scenario: "bench", pack: "image" };

const TOOLS: { name: string; cmd: [string, string[]]; prefix: string }[] = [
  ...Object.keys(scripts).filter((s) => !NOT_TOOLS.includes(s)).map((s) => ({ name: `npm run ${s}`, cmd: commandOf(s), prefix: PREFIX[s] ?? s })),
  ...["new", "concentrator", "authorise"].map((c) => { const [n, a] = commandOf("keys"); return { name: `npm run keys -- ${c}`, cmd: [n, [...a, c]] as [string, string[]], prefix: "keys" }; }),
  { name: "./flash.sh", cmd: ["bash", ["flash.sh"]], prefix: "flash" },
  { name: "tools/flash/plan.ts", cmd: [process.execPath, ["--import", "tsx", "tools/flash/plan.ts"]], prefix: "flash" },
  { name: "tools/flash/verify.ts", cmd: [process.execPath, ["--import", "tsx", "tools/flash/verify.ts"]], prefix: "flash" },
  { name: "tools/image/heatshrink-fixtures.ts", cmd: [process.execPath, ["--import", "tsx", "tools/image/heatshrink-fixtures.ts"]], prefix: "heatshrink-fixtures" },
];

/** Runs `jobs` two at a time (the machine is shared). */
async function pool<T>(jobs: (() => Promise<T>)[], n = 2): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (next < jobs.length) { const i = next++; out[i] = await jobs[i](); } }));
  return out;
}

describe("every host tool answers --help and refuses an unknown option", () => {
  it("covers every script in package.json but the build, the type check and the tests", () => {
    expect(Object.keys(scripts).filter((s) => !NOT_TOOLS.includes(s)).sort()).toEqual(
      ["bench", "bench:boot-memory", "bench:compress", "bench:decode", "bench:headend", "bench:memory", "bench:real", "board", "bodies", "console", "deploy", "errors", "fuzz", "fuzz:coverage", "gate", "headend", "image", "keys", "line", "pack", "scenario", "size", "start"],
    );
  });

  it("--help: a usage line, the options with their defaults, an example; exit 0. --frobnicate: one line on stderr, exit 2", async () => {
    const results = await pool(TOOLS.flatMap((t) => [
      () => run(t.cmd[0], [...t.cmd[1], "--help"]).then((r) => ({ t, r, kind: "help" })),
      () => run(t.cmd[0], [...t.cmd[1], "--frobnicate"]).then((r) => ({ t, r, kind: "unknown" })),
    ]));
    for (const { t, r, kind } of results) {
      if (kind === "help") {
        expect(r.status, `${t.name} --help: ${r.stderr}`).toBe(0);
        expect(r.stderr, `${t.name} --help`).toBe("");
        const lines = r.stdout.split("\n");
        expect(lines[0], `${t.name} --help`).toMatch(/^usage: \S/);
        expect(lines, `${t.name} --help`).toContain(lines.some((l) => l === "commands:") ? "commands:" : "options:");
        expect(lines.some((l) => /^(example|examples):$/.test(l)), `${t.name} --help: an example`).toBe(true);
        expect(lines.some((l) => /^\s+-h, --help\s/.test(l) || /^\s+each command has its own help/.test(l) || /^each command has its own help/.test(l)), `${t.name} --help: lists --help`).toBe(true);
      } else {
        expect(r.status, `${t.name} --frobnicate: ${r.stderr}`).toBe(2);
        expect(r.stdout, `${t.name} --frobnicate`).toBe("");
        const err = r.stderr.trim().split("\n");
        expect(err, `${t.name} --frobnicate`).toHaveLength(1);
        expect(err[0], t.name).toMatch(new RegExp(`^${t.prefix}: unknown (option|command) "--frobnicate"`));
      }
    }
  }, 300_000);

  it("each script's --help names the script it was run as in its usage line", async () => {
    const skip = ["start", "scenario", "pack"]; // start and scenario: one tool (npm start is checked below); pack: image --bare
    const results = await pool(Object.keys(scripts).filter((s) => !NOT_TOOLS.includes(s) && !skip.includes(s)).map((s) => () => {
      const [n, a] = commandOf(s);
      return run(n, [...a, "--help"]).then((r) => ({ s, first: r.stdout.split("\n")[0] }));
    }));
    for (const { s, first } of results) expect(first, s).toMatch(new RegExp(`^usage: npm run ${s} -- `));
    expect(results.find((x) => x.s === "size")?.first).toBe("usage: npm run size -- [options]");
  }, 300_000);

  it("shows the defaults in the help: image's block size, deploy's method, fuzz's runs", async () => {
    const help = async (script: string) => { const [n, a] = commandOf(script); return (await run(n, [...a, "--help"])).stdout; };
    expect(await help("image")).toMatch(/--block-size S\s+bytes per block .* \(default 200\)/);
    expect(await help("deploy")).toMatch(/--method M\s+the update method: coded or patent \(default coded\)/);
    expect(await help("fuzz")).toMatch(/--runs N\s+inputs per target \(default 1000000\)/);
  }, 60_000);

  it("a missing required option or a bad value is one line and exit 2; a misspelt option no longer passes silently", async () => {
    const [n, a] = commandOf("image");
    const cases: [string[], string][] = [
      [["--board", "LINUX", "--version", "2", "--out", "/tmp/x.mlim", "--blok-size", "100"], 'image: unknown option "--blok-size" (--help lists the options)'],
      [["--board", "LINUX", "--version", "2"], "image: --out is required: the file to write"],
      [["--board", "LINUX", "--version", "two", "--out", "/tmp/x.mlim"], 'image: --version must be a whole number from 1 to 4294967295, got "two"'],
      [["--board", "LINUX", "--version", "2", "--out"], "image: --out needs a value"],
    ];
    for (const [args, line] of cases) {
      const r = await run(n, [...a, ...args]);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toBe(`${line}\n`);
    }
    const [kn, ka] = commandOf("keys");
    const k = await run(kn, ka);
    expect(k.status).toBe(2);
    expect(k.stderr).toBe("keys: a command is required: new, concentrator, authorise, rotate (--help says more)\n");
  }, 60_000);

  it("a file it reads that cannot be read is a failure (exit 1); an interpreter that is not an executable file is a usage error (exit 2); one line each, before any build", async () => {
    // npm on the PATH is a stand-in that leaves a mark: a tool that builds first calls it
    const dir = mkdtempSync(join(tmpdir(), "meterline-cli-")), mark = join(dir, "npm-ran");
    writeFileSync(join(dir, "npm"), `#!/bin/sh\necho "$@" >> ${mark}\nexit 1\n`);
    chmodSync(join(dir, "npm"), 0o755);
    const env = { ...process.env, PATH: `${dir}:${process.env.PATH}` };
    const cases: [string, string[], number, string][] = [
      // files the tool reads: 1
      ["deploy", ["--port", "/dev/x", "--image", "/nonexistent", "--image-id", "1"], 1, "deploy: --image /nonexistent: cannot read it: no such file"],
      ["deploy", ["--port", "/dev/x", "--image", "package.json", "--image-id", "1", "--tags", "/nonexistent"], 1, "deploy: --tags /nonexistent: cannot read it: no such file"],
      ["scenario", ["/nonexistent.json"], 1, "bench: /nonexistent.json: cannot read it: no such file"],
      ["start", ["/nonexistent.json"], 1, "bench: /nonexistent.json: cannot read it: no such file"],
      ["image", ["--check", "/nonexistent"], 1, "image: /nonexistent: cannot read it: no such file"],
      ["keys", ["authorise", "--keys", "/nonexistent", "--image", "/nonexistent", "--image-id", "3", "--out", join(dir, "x.tags")], 1, "keys: /nonexistent: no such key file"],
      ["line", ["--node", "a=/nonexistent"], 1, "line: /nonexistent: cannot open it (ENOENT)"],
      ["headend", ["--bench", "--files", "/nonexistent"], 1, "headend: --files /nonexistent: cannot read it: no such folder"],
      // an interpreter: 2
      ["board", ["--espruino", "/nonexistent", "--role", "meter", "--folder", join(dir, "b"), "--console", "0"], 2, "board: --espruino /nonexistent: not an executable file"],
      ["bench:real", ["--espruino", "/nonexistent"], 2, "bench:real: --espruino /nonexistent: not an executable file"],
      ["bench:real", ["--espruino", "/nonexistent", "--boot"], 2, "bench:real: --espruino /nonexistent: not an executable file"],
      ["bench:real", ["--espruino", "package.json", "--powercuts", "3"], 2, "bench:real: --espruino package.json: not an executable file"],
      ["bench:memory", ["--espruino", "/nonexistent"], 2, "bench:memory: --espruino /nonexistent: not an executable file"],
      ["bench:memory", ["--espruino", process.execPath, "--provision-with", "/nonexistent"], 2, "bench:memory: --provision-with /nonexistent: not an executable file"],
      ["bench:boot-memory", ["--espruino", "/nonexistent"], 2, "bench:boot-memory: --espruino /nonexistent: not an executable file"],
      ["bench:decode", ["--espruino", "/nonexistent"], 2, "bench:decode: --espruino /nonexistent: not an executable file"],
      ["bench:compress", ["--espruino", "/nonexistent"], 2, "bench:compress: --espruino /nonexistent: not an executable file"],
      ["bench", ["--espruino", "/nonexistent", "--espruino-2756", "/nonexistent"], 2, "bench: --espruino /nonexistent: not an executable file"],
    ];
    try {
      const results = await pool(cases.map(([script, args, status, line]) => () => {
        const [n, a] = commandOf(script);
        return run(n, [...a, ...args], env).then((r) => ({ script, args, status, line, r }));
      }));
      for (const { script, args, status, line, r } of results) {
        const what = `npm run ${script} -- ${args.join(" ")}`;
        expect(r.status, `${what}: ${r.stderr}`).toBe(status);
        expect(r.stderr, what).toBe(`${line}\n`);
      }
      expect(existsSync(mark) ? readFileSync(mark, "utf8") : "", "npm ran (a build)").toBe("");
      expect(existsSync(join(dir, "b")), "the board's folder").toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it("npm start -- --help answers before the build", async () => {
    const r = await run("npm", ["start", "--silent", "--", "--help"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm start -- \[options\] \[scenario\.json\]\n/);
    expect(r.stdout).not.toContain("gate:"); // no build ran (its last step prints the gate's table)
    const bad = await run("npm", ["start", "--silent", "--", "--frobnicate"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split("\n").filter((l) => l.startsWith("bench:"))).toEqual(['bench: unknown option "--frobnicate" (--help lists the options)']);
    expect(bad.stdout).not.toContain("gate:");
  }, 60_000);
});
