/*
 * Device code compiles against ES5 plus types/espruino.d.ts only: an API the interpreter
 * lacks must be a compile error, not a surprise on the board.
 */
import { describe, expect, it } from "vitest";
import ts from "typescript";
import { join } from "node:path";

function deviceErrors(code: string): string[] {
  const cfgPath = join(process.cwd(), "tsconfig.json");
  const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(cfgPath, ts.sys.readFile).config, ts.sys, process.cwd());
  const file = join(process.cwd(), "firmware", "__probe__.ts");
  const host = ts.createCompilerHost(parsed.options);
  const read = host.readFile.bind(host);
  host.readFile = (f) => (f === file ? code : read(f));
  const exists = host.fileExists.bind(host);
  host.fileExists = (f) => f === file || exists(f);
  const program = ts.createProgram([file, join(process.cwd(), "types", "espruino.d.ts")], { ...parsed.options, noEmit: true, noUnusedLocals: false }, host);
  return ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}

describe("device type checking", () => {
  it("accepts what the interpreter has", () => {
    expect(deviceErrors(`export var x = E.CRC32("abc") + require("Flash").getFree().length + new Uint8Array(2).subarray(1).length; print(x);`)).toEqual([]);
  });

  for (const [name, code] of [
    ["Map", "export var m = new Map();"],
    ["Set", "export var s = new Set();"],
    ["Symbol", "export var s = Symbol('x');"],
    ["Array.from", "export var a = Array.from([1]);"],
    ["padStart", "export var p = 'a'.padStart(3);"],
    ["Promise", "export var p = Promise.resolve(1);"],
    ["a Node global", "export var b = Buffer.from('x');"],
    ["a typed array's slice() as a typed array (2v29 gives a plain Array)", "export var d: Uint8Array = new Uint8Array(4).slice(1);"],
    ["a typed array's filter() as a typed array", "export var d: Uint8Array = new Uint8Array(4).filter(function (x) { return x > 0; });"],
  ]) {
    it(`refuses ${name}`, () => {
      expect(deviceErrors(code).length).toBeGreaterThan(0);
    });
  }
});
