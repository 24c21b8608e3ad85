// Builds one ES5 bundle per board profile and role into dist/<BOARD>/<role>.js: the boot
// routine as an IIFE, the meter and concentrator programs as top-level code (see below).
// Run through `node --import tsx` (npm run build) so this file can import the TypeScript
// profile loader and gate: one source of truth for profiles and budgets.
import typescript from "@rollup/plugin-typescript";
import terser from "@rollup/plugin-terser";
import { loadAllProfiles, deviceProfileModule, withFeaturesOf } from "./tools/profiles/profiles.ts";
import { checkBundle, BUDGETS } from "./tools/gate/gate.ts";
import { internalNamesRegex } from "./tools/gate/internal-names.ts";

/** Pin names are globals on a board (A0..H15, D0..D32): never a minified name. */
const PIN_NAMES = [];
for (const port of "ABCDEFGH") for (let i = 0; i < 33; i++) PIN_NAMES.push(port + i);

const only = process.env.BOARD ? process.env.BOARD.split(",") : null;
// FEATURES_OF=ESPRUINOBOARD (bench:memory): the LINUX meter built with another board's
// feature set (its crypto, repair rows and decode), into bench/out/LINUX-<board>/ (not a
// shipped bundle), so the interpreter's Linux build can measure that program's RAM.
const featuresOf = process.env.FEATURES_OF || null;

/** Resolves `import profile from "board-profile"` to the profile's data. */
function boardProfile(profile, role) {
  const id = "\0board-profile";
  return {
    name: "board-profile",
    resolveId(source) { return source === "board-profile" ? id : null; },
    load(x) { return x === id ? deviceProfileModule(profile, role) : null; },
  };
}

/** Fails the build when a bundle would not run on the interpreter or is over budget. */
function espruinoGate(role) {
  return {
    name: "espruino-gate",
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== "chunk") continue;
        const problems = checkBundle(chunk.code, BUDGETS[role]);
        if (problems.length) {
          this.error(`${chunk.fileName}: ` + problems.map((p) => `${p.rule}: ${p.message}${p.line ? ` (line ${p.line})` : ""}`).join("; "));
        }
      }
    },
  };
}

const configs = [];
const allProfiles = loadAllProfiles();
const source = featuresOf ? allProfiles.find((p) => p.board === featuresOf) : null;
if (featuresOf && !source) throw new Error(`FEATURES_OF=${featuresOf}: no such board profile`);
for (const loaded of allProfiles) {
  if (only && !only.includes(loaded.board)) continue;
  if (featuresOf && loaded.board !== "LINUX") continue;
  const profile = source ? withFeaturesOf(loaded, source) : loaded;
  const out = source ? `bench/out/LINUX-${source.board}` : `dist/${profile.board}`;
  const roles = [];
  if (featuresOf) roles.push("meter");
  else if (profile.roles.includes("meter")) roles.push("boot", "meter");
  if (!featuresOf && profile.roles.includes("concentrator")) roles.push("concentrator");
  for (const role of roles) {
    configs.push({
      input: `firmware/${role}/entry.ts`,
      output: {
        file: `${out}/${role}.js`,
        // The programs are top-level code, evaluated at global scope (the boot stub, or
        // Storage .boot0 for a concentrator): the interpreter gives a function defined
        // inside N >= 2 nested scopes its own copy of the scope chain (an array and N
        // names), so an IIFE around the program costs every closure a level (measured on
        // 2v29: 324 variables for the meter). The boot routine stays an IIFE: its code
        // must be garbage once the program runs.
        format: role === "boot" ? "iife" : "es",
        generatedCode: "es5",
        sourcemap: true,
        strict: false,
      },
      onwarn(warning, warn) {
        throw new Error(`rollup warning treated as an error: ${warning.message}`);
      },
      plugins: [
        boardProfile(profile, role),
        typescript({ tsconfig: "./tsconfig.json", noEmitOnError: true, outDir: out, sourceMap: true, include: ["firmware/**/*.ts", "hal/**/*.ts", "types/*.d.ts"] }),
        // inline: 1 — terser's deeper inlining leaves `return ...x...; var x` at the end of a
        // function, and the interpreter does not hoist var (the gate's var-before-use rule)
        // The programs' top-level names are globals on the board: the minifier never picks
        // one the code reads as a global (E, print, Serial1...), nor a pin name.
        // Our own property names are shortened too (tools/gate/internal-names.ts).
        terser({
          ecma: 5, compress: { passes: 2, unsafe: false, inline: 1, toplevel: true }, format: { comments: false },
          mangle: { toplevel: true, reserved: PIN_NAMES, properties: { regex: internalNamesRegex(), builtins: true } },
        }),
        espruinoGate(role),
      ],
    });
  }
}
if (configs.length === 0) throw new Error(`no bundle to build: ${only ? `board ${only.join(",")} takes no role (see board-profiles/README.md)` : "no profile takes a role"}`);
export default configs;
