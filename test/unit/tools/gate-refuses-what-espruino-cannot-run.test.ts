import { describe, expect, it } from "vitest";
import ts from "typescript";
import { checkBundle, BUDGETS } from "../../../tools/gate/gate";

/** Compiles TypeScript the way the build does (ES5), so the gate sees real emitted code. */
function es5(src: string): string {
  return ts.transpileModule(src, { compilerOptions: { target: ts.ScriptTarget.ES5, module: ts.ModuleKind.None } }).outputText;
}
const rules = (src: string, budget?: number) => checkBundle(src, budget).map((p) => p.rule);

describe("Espruino gate", () => {
  it("passes plain ES5 and reports nothing", () => {
    const src = es5("var a = new Uint8Array(4); a.set([1, 2], 0); var s = [1, 2].slice(1); Object.prototype.hasOwnProperty.call({}, 'x');");
    expect(checkBundle(src, 10_000)).toEqual([]);
  });

  it("rejects a bundle that uses Map", () => {
    const p = checkBundle(es5("var m = new Map(); m.set(1, 2);"));
    expect(p.map((x) => x.rule)).toEqual(["missing-api"]);
    expect(p[0].message).toMatch(/Map/);
    expect(p[0].line).toBe(1);
  });

  it("rejects a labelled loop", () => {
    const src = es5("outer: for (var i = 0; i < 3; i++) { for (var j = 0; j < 3; j++) { if (j) continue outer; } }");
    expect(src).toMatch(/outer:/); // TypeScript keeps labels as written
    expect(rules(src)).toEqual(["no-labels"]);
  });

  it("rejects an arrow function (not ES5)", () => {
    expect(rules("var f = (x) => x + 1;")).toEqual(["es5-syntax"]);
  });

  it("rejects array spread: TypeScript's helper reaches Array.prototype.slice", () => {
    const src = es5("function f(a: number[]) { return [0, ...a]; }");
    const p = checkBundle(src);
    expect(p.some((x) => x.rule === "no-builtin-prototype" && /Array\.prototype\.slice/.test(x.message))).toBe(true);
  });

  it("rejects a bundle over its budget and says by how much", () => {
    const src = "var x = '" + "a".repeat(BUDGETS.boot) + "';";
    const p = checkBundle(src, BUDGETS.boot);
    expect(p.map((x) => x.rule)).toEqual(["budget"]);
    expect(p[0].message).toContain(`over the budget of ${BUDGETS.boot}`);
  });

  it("checks names on the AST, not the text", () => {
    // a string or a property key that spells a missing API is fine
    expect(rules("var o = { Map: 1, padStart: 2 }; var s = 'new Set()'; o.Map = 3;")).toEqual([]);
    // a member the interpreter lacks is not
    expect(rules("var s = 'a'.padStart(3); var n = Number.isInteger(2); var b = new Uint8Array(2); b.fill(1);")).toEqual(["missing-api", "missing-api", "missing-api"]);
    expect(rules("var a = Array.from([1]); var u = Uint8Array.from([1]); var t = Math.trunc(1.5);")).toEqual(["missing-api", "missing-api", "missing-api"]);
    expect(rules("var a = String.prototype.charCodeAt; var b = Function.prototype['call'];")).toEqual(["no-builtin-prototype", "no-builtin-prototype"]);
  });

  it("rejects a member a built-in global lacks: Date.now() as the build's minifier renames it (now is an internal name) would throw on the board", async () => {
    const { minify } = await import("terser");
    const { internalNamesRegex } = await import("../../../tools/gate/internal-names");
    // the build's property renaming (rollup.config.js: internal names on every object, built-ins included)
    const out = await minify("var clock = { now: function () { return 1; } }; print(clock.now() + Date.now());", { mangle: { properties: { regex: internalNamesRegex(), builtins: true } } });
    expect(out.code).not.toContain("Date.now");
    expect(rules(out.code!)).toEqual(["unknown-member"]);
    // Date's, Math's and JSON's real members, and the interpreter's own Math.clip, pass; a local named like a global is its own
    expect(rules("var t = Date.now() + Math.floor(1.5) + Math.clip(5, 0, 3); var j = JSON.stringify({}); var u = Uint8Array.BYTES_PER_ELEMENT;")).toEqual([]);
    expect(rules("var Date = { r: 1 }; var x = Date.r;")).toEqual([]);
    expect(rules("var x = Math.floorr(1);")).toEqual(["unknown-member"]);
  });

  it("rejects a var used before its declaration in the same function (the interpreter does not hoist var)", () => {
    // the shape terser's deep inlining wrote, which overwrote a top-level function on 2v29
    const inlined = "!function(){function n(r){return r}function o(r){return(e=r.buf)[n=r.pos]|e[n+1];var e,n}o({buf:[1,2],pos:0});n(1)}();";
    expect(rules(inlined)).toEqual(Array(4).fill("var-before-use")); // e, n, e, n
    expect(rules("function f(){ for (var i = 0; i < 2; i++) { use(k); var k = i; } }")).toEqual(["var-before-use"]);
  });

  it("rejects a var declared only inside a branch that may not have run before a use outside it (the interpreter declares a var as it runs it)", () => {
    // measured on 2v29: after f(false), g(0), the assignments below set the globals x and y
    expect(rules("function f(b){ if (b) { var x = 1; } x = 5; return x; }")).toEqual(["var-in-branch"]);
    expect(rules("function g(n){ for (var i = 0; i < n; i++) { var y = i; } y = 7; return y; }")).toEqual(["var-in-branch"]);
    expect(rules("function s(k){ switch (k) { case 1: var w = 1; break; } return w; }")).toEqual(["var-in-branch"]);
    expect(rules("function c(a){ var t = a && (function(){ return 1; })(); return a ? (function(){ var q; return q; })() : t; }")).toEqual([]);
    // the shape that overwrote the digest helper in the meter (records.ts writeSlot): declared in
    // the erase branch, reused for the slot address after it
    expect(rules("function w(n,p){ if (n >= p) { for (var x = 0; x < 8; x++) use(x); } x = 4; use(x); }")).toEqual(["var-in-branch"]);
    // allowed: a declaration that always runs first (a for's init, before the branch, or in the same branch)
    expect(rules("function a(n){ for (var i = 0; i < n; i++) use(i); return i; }")).toEqual([]);
    expect(rules("function b(n){ var v; if (n) { var v = 2; } v = 3; return v; }")).toEqual([]);
    expect(rules("function d(n){ if (n) { var u = 1; u++; use(u); } else { var u = 2; use(u); } }")).toEqual([]);
    expect(rules("function e(n){ while (n--) { var r = n; use(r); } }")).toEqual([]);
  });

  it("rejects a function used before its declaration in the same function (the interpreter does not hoist functions)", () => {
    // measured on 2v29: each of these passes or calls the global of the same name, or throws ReferenceError
    expect(rules("function g(){ var r = f(y); function y(){ return 1; } return r; }")).toEqual(["function-before-declaration"]);
    expect(rules("function g(){ return y(); function y(){ return 1; } }")).toEqual(["function-before-declaration"]);
    expect(rules("z(); function z(){}")).toEqual(["function-before-declaration"]);
    // the shape the ST7580 driver's minified start had: the handler passed to the framer before its declaration
    expect(rules("function t(r){ var n = 0, h = er(x); function x(a){ n = a; } return h; } function er(c){ return { c: c }; }")).toEqual(["function-before-declaration"]);
  });

  it("accepts functions used after their declaration, or from closures that run later", () => {
    expect(checkBundle("function g(){ function y(){ return 1; } var r = y(); return r; }")).toEqual([]);
    expect(checkBundle("function g(){ var k = function(){ return y(); }; function y(){ return 1; } return k; }")).toEqual([]);
    expect(checkBundle("function z(){} z();")).toEqual([]);
  });

  it("accepts vars declared before use, parameters, closures and property names that share a name", () => {
    const ok = "function f(a){ var b = a; a = 2; var o = { b: 1 }; o.b = b; return function(){ return c; }; } var c = 1;"
      + "function g(){ x.y = 1; } var x = {}; function h(n){ var n = n || 1; return n; }";
    expect(checkBundle(ok)).toEqual([]);
  });
});
