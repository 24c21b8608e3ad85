import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { INTERNAL_NAMES, RESERVED, internalNamesRegex } from "../../../tools/gate/internal-names";
import { CHECKED_GLOBALS, MISSING_GLOBALS } from "../../../tools/gate/gate";
import { layoutOf } from "../../../firmware/protocol/catalogue";
import { regionNames } from "../../../firmware/common/layout";

/** Every field name in every catalogue layout, list records included. */
function wireFields(): Set<string> {
  const out = new Set<string>();
  for (let t = 0; t < 256; t++) {
    const l = layoutOf(t);
    if (l) for (const m of l.matchAll(/([A-Za-z]+):/g)) out.add(m[1]);
  }
  return out;
}

describe("the property names the minifier shortens (tools/gate/internal-names.ts)", () => {
  it("are none of the wire fields, configuration keys, region names or names the host reads", () => {
    const wire = wireFields();
    expect(wire.has("imageId") && wire.has("needed") && wire.has("id")).toBe(true);
    // the keys flash.sh writes into the configuration record (firmware/common/config.ts DeviceConfig)
    const config = readFileSync(new URL("../../../firmware/common/config.ts", import.meta.url), "utf8");
    const body = /export interface DeviceConfig \{([\s\S]*?)\n\}/.exec(config)![1];
    const configKeys = [...body.matchAll(/^\s+([a-zA-Z]+)\??:/gm)].map((m) => m[1]);
    expect(configKeys).toContain("modemPath");
    for (const n of INTERNAL_NAMES) {
      expect(wire.has(n), `${n} is a wire field`).toBe(false);
      expect(configKeys, `${n} is a configuration key`).not.toContain(n);
      expect(regionNames(), `${n} is a region name`).not.toContain(n);
      expect(RESERVED, `${n} is reserved`).not.toContain(n);
    }
  });

  it("are none of the members of the interpreter's APIs the device code is allowed, nor of JavaScript's built-ins", () => {
    const espruino = readFileSync(new URL("../../../types/espruino.d.ts", import.meta.url), "utf8");
    const apiMembers = new Set([...espruino.matchAll(/^\s+([A-Za-z_$][\w$]*)\??[(:]/gm)].map((m) => m[1]));
    expect(apiMembers.has("getFree") && apiMembers.has("SHA256")).toBe(true);
    const builtins = new Set<string>();
    for (const o of [Object, Object.prototype, Array, Array.prototype, String, String.prototype, Uint8Array, Uint8Array.prototype, Function.prototype, Math, JSON, Number, Number.prototype, RegExp.prototype, Date, Date.prototype, Promise, Promise.prototype, ArrayBuffer, ArrayBuffer.prototype, DataView.prototype, Map.prototype, Set.prototype, WeakMap.prototype, WeakSet.prototype]) {
      for (const k of Object.getOwnPropertyNames(o)) builtins.add(k);
    }
    // Two of our names are also built-ins' and stay internal, each because nothing in device
    // code can reach the built-in's: `now` (Date.now: the gate's unknown-member rule refuses a
    // renamed Date.r) and `clear` (Map's and Set's: missing globals the gate refuses)
    const EXCEPT: Record<string, string> = { now: "unknown-member", clear: "missing-api" };
    for (const n of INTERNAL_NAMES) {
      expect(apiMembers.has(n), `${n} is an Espruino API member`).toBe(false);
      if (!EXCEPT[n]) expect(builtins.has(n), `${n} is a JavaScript built-in`).toBe(false);
    }
    for (const [n, rule] of Object.entries(EXCEPT)) {
      expect(builtins.has(n), `${n} is still a built-in's`).toBe(true);
      expect(INTERNAL_NAMES).toContain(n);
      expect(rule === "unknown-member" ? CHECKED_GLOBALS.includes("Date") : MISSING_GLOBALS.includes("Map") && MISSING_GLOBALS.includes("Set")).toBe(true);
    }
  });

  it("match exactly, so a longer or shorter name is left alone", () => {
    const re = internalNamesRegex();
    expect(re.test("perUnit")).toBe(true);
    expect(re.test("perUnits")).toBe(false);
    expect(re.test("Unit")).toBe(false);
    expect(new Set(INTERNAL_NAMES).size).toBe(INTERNAL_NAMES.length);
  });
});
