/*
 * A short ES5 program run on an Espruino Linux build (a tool's --espruino PATH), for what
 * only the interpreter itself can say: the heatshrink fixtures it makes, whether it
 * decompresses what the host compressed, what that costs it (bench:compress).
 *
 * The program runs from a file in a fresh folder, its stdin a pipe left open and idle (at
 * end of file the Linux build floods its input queue); it is wrapped so that it ends with
 * one line "RUN-END <error flags as JSON>" or, if it threw, "RUN-FAIL <error>". The interpreter
 * stays at its prompt after a file: it is killed once that line is out, or when it exits
 * early (out of memory ends a file run).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The interpreter did not run the program to its end. */
export class InterpreterError extends Error {}

/** What the program printed, its last line RUN-END taken off; an InterpreterError when it threw, stopped or timed out. */
export function runOnInterpreter(bin: string, program: string, timeoutMs = 60_000): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "ml-interp-"));
  writeFileSync(join(dir, "run.js"), `try {\n${program}\n} catch (e) { print("RUN-FAIL " + e); }\nprint("RUN-END " + JSON.stringify(E.getErrorFlags()));\n`);
  return new Promise<string>((resolve, reject) => {
    const p = spawn(bin, ["run.js"], { cwd: dir, stdio: ["pipe", "pipe", "pipe"] });
    let out = "", over = false;
    const done = (err?: string) => {
      if (over) return;
      over = true;
      clearTimeout(timer);
      p.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      const tail = JSON.stringify(out.slice(-300));
      const fail = /RUN-FAIL (.*)/.exec(out);
      if (err) reject(new InterpreterError(`${bin}: ${err} (its output ends ${tail})`));
      else if (fail) reject(new InterpreterError(`${bin}: the program threw ${fail[1].trim()}`));
      else {
        const end = /RUN-END (.*)/.exec(out)!;
        // LOW_MEMORY alone is harmless on the resizable build: it is set whenever the table grows
        const flags = (JSON.parse(end[1]) as string[]).filter((f) => f !== "LOW_MEMORY");
        if (flags.length) reject(new InterpreterError(`${bin}: the program ended with error flags ${flags.join(", ")} (its output ends ${tail})`));
        else resolve(out.slice(0, end.index));
      }
    };
    const timer = setTimeout(() => done(`the program did not end within ${timeoutMs / 1000} s`), timeoutMs);
    p.stdout.on("data", (d: Buffer) => { out += d.toString("latin1"); if (/RUN-(END|FAIL)[^\n]*\n/.test(out)) done(); });
    p.on("error", (e) => done(`cannot run it: ${e.message}`));
    p.on("exit", () => setTimeout(() => done(/RUN-(END|FAIL)/.test(out) ? undefined : "it exited before the program's end"), 20));
  });
}

/** An ES5 expression that makes `bytes` as a Uint8Array on the interpreter. */
export function uint8Expr(bytes: Uint8Array): string {
  return `E.toUint8Array(atob(${JSON.stringify(Buffer.from(bytes).toString("base64"))}))`;
}

/** The bytes of a line the program printed as `print(tag + " " + btoa(E.toString(data)))`; an InterpreterError when there is none. */
export function printedBytes(out: string, tag: string): Uint8Array {
  const m = new RegExp(`^${tag} ?(\\S*)\\r?$`, "m").exec(out);
  if (!m) throw new InterpreterError(`the interpreter printed no ${tag} line (its output ends ${JSON.stringify(out.slice(-300))})`);
  return new Uint8Array(Buffer.from(m[1], "base64"));
}

/** The interpreter's version, build commit and variables, as a program prints them with INTERPRETER_INFO. */
export interface InterpreterInfo { version: string; commit: string; board: string; variables: number; blockSize: number }
export const INTERPRETER_INFO = `print("INFO " + JSON.stringify({ version: process.env.VERSION, commit: process.env.GIT_COMMIT, board: process.env.BOARD, variables: process.memory().total, blockSize: process.memory().blocksize }));`;
export function printedInfo(out: string): InterpreterInfo {
  const m = /^INFO (\{.*\})\r?$/m.exec(out);
  if (!m) throw new InterpreterError("the interpreter printed no INFO line");
  return JSON.parse(m[1]) as InterpreterInfo;
}
