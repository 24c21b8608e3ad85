/*
 * The Espruino compatibility gate. A bundle passes only if the 2v29 interpreter can run
 * it: ES5 syntax (acorn, ecmaVersion 5), no labelled statements, no built-in method
 * reached through a constructor's prototype, none of the APIs the interpreter lacks
 * (checked on the AST: identifiers and member names, not text), no use of a `var` before
 * its declaration in the same function, no use of a function before its declaration, and
 * within its budget. The facts behind each rule, measured on 2v29 (docs/espruino.md), are written below and in
 * the rule lists.
 *
 * Why function order: the interpreter does not hoist function declarations either, in a
 * function or at the top level (measured on 2v29: `function g(){ var r = f(y); function
 * y(){} }` passes the global `y`, or throws ReferenceError without one). Terser keeps a
 * nested function's declaration where the source has it, so a call made before it (the
 * ST7580 driver handed its event handler to the framer that way) reaches whatever global
 * has the same one-letter name. Only uses outside nested functions are flagged: a closure
 * runs later.
 *
 * Why var order: the interpreter does not hoist `var`. It declares the variable when the
 * statement runs, so a name assigned before its `var` (terser writes `...;return x;var a,b`
 * when it inlines a function with locals) is assigned in the enclosing scope instead:
 * measured on 2v29, a cursor helper inlined this way overwrote a top-level function.
 */
import { parse, type Node } from "acorn";
import { simple } from "acorn-walk";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const BUDGETS: Record<string, number> = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), "budgets.json"), "utf8"),
);

/** Globals the interpreter does not have. */
export const MISSING_GLOBALS = ["Map", "Set", "WeakMap", "WeakSet", "Symbol", "Proxy", "Reflect"];

/** Members the interpreter does not have, by object (null: on any object). */
export const MISSING_MEMBERS: [string | null, string][] = [
  ["Array", "from"], ["Array", "of"], ["Uint8Array", "from"], ["Uint16Array", "from"], ["Uint32Array", "from"],
  ["Int8Array", "from"], ["Int16Array", "from"], ["Int32Array", "from"], ["Float32Array", "from"], ["Float64Array", "from"],
  ["Object", "freeze"], ["Number", "isInteger"], ["Number", "isFinite"],
  ["Math", "imul"], ["Math", "trunc"], ["Math", "clz32"],
  [null, "padStart"], [null, "padEnd"], [null, "fill"],
];

/** Constructors whose prototype methods are undefined on the interpreter. */
export const BUILTIN_CONSTRUCTORS = [
  "Array", "String", "Function", "Number", "Boolean", "Object", "Date", "RegExp", "Error", "Promise",
  "ArrayBuffer", "DataView", "Uint8Array", "Uint8ClampedArray", "Int8Array", "Uint16Array", "Int16Array",
  "Uint32Array", "Int32Array", "Float32Array", "Float64Array",
];
/**
 * Global objects whose own members a bundle may name: a member of one of them that the
 * object does not have is a call that throws on the board. It catches a built-in's member
 * renamed by the minifier: the internal names (tools/gate/internal-names.ts) are renamed on
 * every object, so `now` and `clear`, ours on the clocks, would turn a `Date.now()` written
 * in device code into `Date.r()`, which builds and then throws (Map and Set, whose `clear`
 * it is too, are missing globals). Host objects (Node's) are the reference; the
 * interpreter's own additions to them are listed beside.
 */
export const CHECKED_GLOBALS = ["Date", "Math", "JSON", "Object", "Array", "String", "Number", "Promise", "ArrayBuffer", "Uint8Array", "Uint16Array", "Uint32Array", "Int8Array", "Int16Array", "Int32Array", "Float32Array", "Float64Array"];
/** Members the interpreter adds to those globals (Espruino's reference: Math.clip, Math.wrap). */
export const INTERPRETER_GLOBAL_MEMBERS: [string, string][] = [["Math", "clip"], ["Math", "wrap"]];

/** The only prototype members reachable on the interpreter. */
export const REACHABLE_PROTOTYPE_MEMBERS = ["hasOwnProperty", "toString"];

export interface Problem { rule: string; message: string; line?: number; }

interface Loc { loc?: { start: { line: number } } | null }
type AnyNode = Node & Loc & Record<string, any>;

function memberName(n: AnyNode): string | null {
  if (n.type !== "MemberExpression") return null;
  if (!n.computed && n.property.type === "Identifier") return n.property.name;
  if (n.computed && n.property.type === "Literal" && typeof n.property.value === "string") return n.property.value;
  return null;
}

function objectName(n: AnyNode): string | null {
  return n.type === "Identifier" ? n.name : null;
}

/** All problems with one bundle's source. `budget` in bytes, or undefined for no size check. */
export function checkBundle(source: string, budget?: number): Problem[] {
  const problems: Problem[] = [];
  let ast: Node;
  try {
    ast = parse(source, { ecmaVersion: 5, sourceType: "script", locations: true });
  } catch (e) {
    const err = e as Error & { loc?: { line: number } };
    return [{ rule: "es5-syntax", message: `not ES5: ${err.message}`, line: err.loc?.line }];
  }
  const at = (n: AnyNode) => n.loc?.start.line;
  // Names declared by the bundle itself may shadow a missing global legitimately.
  const declared = new Set<string>();
  simple(ast, {
    VariableDeclarator(n: AnyNode) { if (n.id.type === "Identifier") declared.add(n.id.name); },
    FunctionDeclaration(n: AnyNode) { if (n.id) declared.add(n.id.name); },
  });
  simple(ast, {
    LabeledStatement(n: AnyNode) {
      problems.push({ rule: "no-labels", message: `labelled statement "${n.label.name}": labels are not supported`, line: at(n) });
    },
    Identifier(n: AnyNode) {
      if (MISSING_GLOBALS.includes(n.name) && !declared.has(n.name)) {
        problems.push({ rule: "missing-api", message: `uses ${n.name}, which the interpreter lacks`, line: at(n) });
      }
    },
    MemberExpression(n: AnyNode) {
      const name = memberName(n);
      const obj = n.object as AnyNode;
      if (name === null) return;
      // X.prototype.m
      if (obj.type === "MemberExpression" && memberName(obj) === "prototype") {
        const ctor = objectName(obj.object);
        if (ctor && BUILTIN_CONSTRUCTORS.includes(ctor) && !REACHABLE_PROTOTYPE_MEMBERS.includes(name)) {
          problems.push({ rule: "no-builtin-prototype", message: `${ctor}.prototype.${name} is undefined on the interpreter`, line: at(n) });
        }
      }
      // Date.now renamed to Date.r, and the like
      const g = objectName(obj);
      if (g && CHECKED_GLOBALS.includes(g) && !declared.has(g) && !(name in (globalThis as any)[g]) && !INTERPRETER_GLOBAL_MEMBERS.some(([o, m]) => o === g && m === name)) {
        problems.push({ rule: "unknown-member", message: `uses ${g}.${name}, which ${g} does not have (a built-in's member renamed by the minifier?)`, line: at(n) });
      }
      for (const [o, m] of MISSING_MEMBERS) {
        if (m !== name) continue;
        if (o === null || objectName(obj) === o) {
          problems.push({ rule: "missing-api", message: `uses ${o ? o + "." : "."}${m}, which the interpreter lacks`, line: at(n) });
        }
      }
    },
  });
  checkVarOrder(ast as AnyNode, problems, at, source);
  const size = Buffer.byteLength(source, "utf8");
  if (budget !== undefined && size > budget) {
    problems.push({ rule: "budget", message: `${size} bytes, over the budget of ${budget}` });
  }
  return problems;
}

/** The role a bundle file is for, from its name (dist/<board>/<role>.js). */
export function roleOf(file: string): string {
  return file.replace(/^.*[\\/]/, "").replace(/\.js$/, "");
}

const FUNCTION_TYPES = ["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"];

/** Is `node`, reached from `parent` through `key`, a reference to a variable (not a name slot)? */
function isReference(parent: AnyNode | null, key: string): boolean {
  if (!parent) return true;
  if (parent.type === "MemberExpression" && key === "property" && !parent.computed) return false;
  if (parent.type === "Property" && key === "key" && !parent.computed) return false;
  if (parent.type === "VariableDeclarator" && key === "id") return false;
  if (FUNCTION_TYPES.includes(parent.type) && (key === "id" || key === "params")) return false;
  if (parent.type === "CatchClause" && key === "param") return false;
  if ((parent.type === "BreakStatement" || parent.type === "ContinueStatement" || parent.type === "LabeledStatement") && key === "label") return false;
  return true;
}

/**
 * Parts of a statement or expression that may not run: a `var` inside one is not declared
 * when it does not (the interpreter declares a var as it executes it).
 */
function isBranch(parent: AnyNode, key: string): boolean {
  switch (parent.type) {
    case "IfStatement": return key === "consequent" || key === "alternate";
    case "ForStatement": return key === "body" || key === "update" || key === "test";
    case "ForInStatement": case "WhileStatement": return key === "body";
    case "SwitchCase": return key === "consequent";
    case "TryStatement": return key === "handler" || key === "finalizer";
    case "ConditionalExpression": return key === "consequent" || key === "alternate";
    case "LogicalExpression": return key === "right";
    default: return false;
  }
}

/**
 * In each function (and the top level), every `var` must come before any use of its name
 * in that same function, nested functions aside (they run later, as closures), and not
 * only inside a branch that may not have run (an if's arm, a loop's body, a case...) where
 * the use is outside it. Iterative.
 */
function checkVarOrder(ast: AnyNode, problems: Problem[], at: (n: AnyNode) => number | undefined, source: string): void {
  const scopes: AnyNode[] = [ast];
  simple(ast, {
    FunctionDeclaration(n: AnyNode) { scopes.push(n); },
    FunctionExpression(n: AnyNode) { scopes.push(n); },
  });
  for (const scope of scopes) {
    const params = new Set<string>((scope.params ?? []).map((p: AnyNode) => p.name));
    const firstDecl = new Map<string, number>();
    const fnDecl = new Map<string, number>();
    // every declaration of a name, with the branches it sits in
    const decls = new Map<string, { start: number; branches: AnyNode[] }[]>();
    const refs: AnyNode[] = [];
    const stack: [AnyNode, AnyNode | null, string, AnyNode[]][] = [[scope.type === "Program" ? scope : scope.body, null, "body", []]];
    while (stack.length) {
      const [node, parent, key, branches] = stack.pop()!;
      if (node.type === "Identifier") {
        if (parent && parent.type === "VariableDeclarator" && key === "id") {
          if (!firstDecl.has(node.name) || firstDecl.get(node.name)! > node.start) firstDecl.set(node.name, node.start);
          if (!decls.has(node.name)) decls.set(node.name, []);
          decls.get(node.name)!.push({ start: node.start, branches });
        } else if (isReference(parent, key)) refs.push(node);
        continue;
      }
      if (node !== scope.body && node !== scope && FUNCTION_TYPES.includes(node.type)) {
        // a nested function: its name is a declaration here, its body another scope
        if (node.type === "FunctionDeclaration" && node.id && !fnDecl.has(node.id.name)) fnDecl.set(node.id.name, node.start);
        continue;
      }
      for (const k of Object.keys(node)) {
        const v = node[k];
        const b = isBranch(node, k) ? [...branches, node[k]] : branches;
        if (Array.isArray(v)) { for (let i = v.length - 1; i >= 0; i--) if (v[i] && typeof v[i].type === "string") stack.push([v[i], node, k, b]); }
        else if (v && typeof v === "object" && typeof v.type === "string") stack.push([v, node, k, b]);
      }
    }
    const inBranch = new Set<string>();
    for (const r of refs) {
      const d = firstDecl.get(r.name);
      if (d !== undefined && r.start < d && !params.has(r.name)) {
        problems.push({ rule: "var-before-use", message: `"${r.name}" is used before its var declaration in the same function: the interpreter does not hoist var`, line: at(r) });
      } else if (d !== undefined && !params.has(r.name) && !inBranch.has(r.name) && !decls.get(r.name)!.some((x) => x.start < r.start && x.branches.every((b: AnyNode) => (Array.isArray(b) ? b.length && b[0].start <= r.start && r.end <= b[b.length - 1].end : b.start <= r.start && r.end <= b.end)))) {
        inBranch.add(r.name); // (once per name and function)
        problems.push({ rule: "var-in-branch", message: `"${r.name}" is declared only inside a branch that may not have run before this use (an if's arm, a loop's body, a case): the interpreter declares a var as it runs it, so the use would reach a global (at …${source.slice(Math.max(0, r.start - 60), r.end + 10)}…)`, line: at(r) });
      }
      const f = fnDecl.get(r.name);
      if (f !== undefined && r.start < f && !params.has(r.name) && d === undefined) {
        problems.push({ rule: "function-before-declaration", message: `"${r.name}" is used before its function declaration in the same function: the interpreter does not hoist functions`, line: at(r) });
      }
    }
  }
}
