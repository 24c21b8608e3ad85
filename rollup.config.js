// Builds one ES5 IIFE per board profile and role into dist/<BOARD>/<role>.js.
// Run through `node --import tsx` (npm run build) so this file can import the TypeScript
// profile loader and gate: one source of truth for profiles and budgets.
import typescript from "@rollup/plugin-typescript";
import terser from "@rollup/plugin-terser";
import { loadAllProfiles, deviceProfileModule } from "./tools/profiles/profiles.ts";
import { checkBundle, BUDGETS } from "./tools/gate/gate.ts";

const only = process.env.BOARD ? process.env.BOARD.split(",") : null;

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
for (const profile of loadAllProfiles()) {
  if (only && !only.includes(profile.board)) continue;
  const roles = [];
  if (profile.roles.includes("meter")) roles.push("boot", "meter");
  if (profile.roles.includes("concentrator")) roles.push("concentrator");
  for (const role of roles) {
    configs.push({
      input: `firmware/${role}/entry.ts`,
      output: {
        file: `dist/${profile.board}/${role}.js`,
        format: "iife",
        generatedCode: "es5",
        sourcemap: true,
        strict: false,
        // The boot routine evaluates the app with a direct eval in the global scope: kept
        // outside the IIFE so that the minifier can still shorten every other name. The
        // program's functions keep this function's scope alive, so `s` is dropped after the
        // eval: otherwise the whole program text stays in RAM (measured: 1,500 variables).
        banner: role === "boot" ? "function mlEval(s){eval(s);s=0}" : undefined,
      },
      onwarn(warning, warn) {
        throw new Error(`rollup warning treated as an error: ${warning.message}`);
      },
      plugins: [
        boardProfile(profile, role),
        typescript({ tsconfig: "./tsconfig.json", noEmitOnError: true, outDir: `dist/${profile.board}`, sourceMap: true, include: ["firmware/**/*.ts", "hal/**/*.ts", "types/*.d.ts"] }),
        // inline: 1 — terser's deeper inlining leaves `return ...x...; var x` at the end of a
        // function, and the interpreter does not hoist var (the gate's var-before-use rule)
        terser({ ecma: 5, compress: { passes: 2, unsafe: false, inline: 1 }, mangle: { toplevel: true }, format: { comments: false } }),
        espruinoGate(role),
      ],
    });
  }
}
if (configs.length === 0) throw new Error(`no bundle to build: ${only ? `board ${only.join(",")} takes no role (see board-profiles/README.md)` : "no profile takes a role"}`);
export default configs;
