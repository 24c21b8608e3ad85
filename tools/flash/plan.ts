/*
 * The provisioning plan for one board: the JavaScript that flash.sh sends through the
 * espruino CLI. It erases the role's regions, writes the boot routine, the per-device
 * configuration, the program with its header, and the boot stub (a Storage boot file).
 * Host code: `node --import tsx tools/flash/plan.ts --board B --role R [--id N]
 * [--modem-path DEV] --out FILE` writes the plan; a bad option exits 2, a plan that cannot
 * be made 1, with one clear line (tools/cli/cli.ts).
 */
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { loadProfile, ProfileError, type BoardProfile, type Role } from "../profiles/profiles";
import { APP_HEADER_SIZE, CONFIG_SIZE, roleRegions, unitsSpanned, eraseUnitAt, type Region } from "../../firmware/common/layout";
import { CONFIG_FILE, encodeConfig, type DeviceConfig } from "../../firmware/common/config";
import { START_DEADLINE_MS } from "../../firmware/common/update-image";
import { concentratorKeyFile, loadKeys, rootKey } from "../keys/keyfile";
import { KEY_FILE } from "../../firmware/concentrator/keystore";
import { encodeAppHeader } from "../../firmware/common/image";
import { hostNative } from "../../hal/host/native";
import { Id } from "../../firmware/protocol/catalogue";
import { recordLog } from "../../firmware/common/records";
import { Kr } from "../../firmware/meter/authorise";
import type { Flash } from "../../hal/types";
import { cli, isMain, ToolError, UsageError, writeOutput, type Parsed, type Tool } from "../cli/cli";

export class PlanError extends Error {}
/** A key file that cannot be read: a failure (exit 1), not a bad option (tools/cli/cli.ts). */
export class UnreadableKeys extends PlanError {}

export interface PlanOptions { board: string; role: string; id?: number; modemPath?: string; dist?: string; version?: number; keys?: string; }

/** Bytes per Flash.write line: short lines keep the console's input buffer small. */
const LINE_BYTES = 256;

function pad4(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(b.length / 4) * 4).fill(0xff);
  out.set(b);
  return out;
}

const hex = (n: number) => "0x" + n.toString(16);

function eraseLines(p: BoardProfile, r: Region): string[] {
  const lines: string[] = [];
  for (let a = r.addr; a < r.addr + r.size;) {
    const u = eraseUnitAt(p.flash, a)!;
    lines.push(`F.erasePage(${hex(u.addr)});`);
    a = u.addr + u.length;
  }
  return lines;
}

function writeLines(addr: number, data: Uint8Array): string[] {
  const lines: string[] = [];
  const d = pad4(data);
  for (let o = 0; o < d.length; o += LINE_BYTES) {
    const part = d.subarray(o, o + LINE_BYTES);
    lines.push(`F.write(atob(${JSON.stringify(Buffer.from(part).toString("base64"))}),${hex(addr + o)});`);
  }
  return lines;
}

/** The code that starts the boot routine at power-on, from memory-mapped flash when it can. */
export function bootStub(p: BoardProfile, length: number): string {
  const boot = p.regions.boot!;
  const routine = p.memoryMapped
    ? `eval(E.memoryArea(${hex(boot.addr)},${length}))`
    : `eval(E.toString(require("Flash").read(${length},${hex(boot.addr)})))`;
  return handoverStub(routine);
}

/**
 * The boot stub around `routine` (an expression that runs the boot routine): the routine
 * leaves its program in mlBoot (firmware/boot/loader.ts, handover), evaluated here at
 * global scope; when it throws, mlThrew is set and the routine runs again. A program on
 * trial (mlRan 2) that has not set mlUp within START_DEADLINE_MS is reverted the same way
 * (mlThrew 2), then the board reboots (the routine's revert reboots; the stub reboots too, in
 * case the routine threw): whatever the silent program left running goes with it.
 */
export function handoverStub(routine: string, deadlineMs = START_DEADLINE_MS): string {
  return `${routine};while(global.mlBoot)try{eval(mlBoot())}catch(e){mlThrew=1;${routine}}` +
    `if(global.mlRan==2)setTimeout(function(){if(!global.mlUp){mlThrew=2;try{${routine}}catch(e){}E.reboot()}},${deadlineMs})`;
}

/** Checks the options against the profile; returns the profile and role. Throws PlanError. */
export function checkOptions(o: PlanOptions): { p: BoardProfile; role: Role; id: number } {
  let p: BoardProfile;
  try {
    p = loadProfile(o.board);
  } catch (e) {
    throw new PlanError(e instanceof ProfileError ? `unknown or invalid board "${o.board}": ${e.message}` : String(e));
  }
  if (o.role !== "meter" && o.role !== "concentrator") throw new PlanError(`--role must be meter or concentrator, not "${o.role}"`);
  const role = o.role as Role;
  if (!p.roles.includes(role)) {
    throw new PlanError(`board ${p.board} cannot take the ${role} role (it takes: ${p.roles.join(", ") || "none"}): ${p.rolesWhy}`);
  }
  // Each node is named: a meter by its id, a concentrator by its own (its address on the line
  // is 0xFFFF0000 + it, above every meter id, and its name in the head-end)
  const range = role === "concentrator" ? "1 to 65534" : `1 to ${Id.MAX_METER}`;
  if (o.id === undefined) throw new PlanError(`--id is required for a ${role}: a whole number from ${range}`);
  if (!Number.isInteger(o.id) || o.id < 1 || o.id > (role === "concentrator" ? 0xfffe : Id.MAX_METER)) throw new PlanError(`--id must be a whole number from ${range} for a ${role}`);
  if (o.modemPath !== undefined && p.board !== "LINUX") throw new PlanError("--modem-path applies to the LINUX board only (boards wire the modem to pins)");
  if (o.modemPath !== undefined && !o.modemPath.startsWith("/")) throw new PlanError(`--modem-path must be an absolute device path, not "${o.modemPath}"`);
  if (o.keys !== undefined) {
    let k;
    try { k = loadKeys(o.keys); } catch (e) { throw new UnreadableKeys(`--keys: ${(e as Error).message}`); }
    if (!p.crypto.includes("SHA256")) throw new PlanError(`--keys: board ${p.board} has no native SHA-256, so it cannot authenticate (docs/security.md)`);
    if (role === "meter" && !rootKey(k, o.id)) throw new PlanError(`--keys: meter ${o.id} has no key in ${o.keys} (npm run keys -- new)`);
  }
  return { p, role, id: o.id };
}

/**
 * The keys region of a keyed meter as provisioning leaves it: its first erase unit with one
 * record, the root key in use at generation 0 (firmware/meter/authorise.ts Kr), the rest erased.
 */
export function keyRegionImage(p: BoardProfile, root: Uint8Array): Uint8Array {
  const r = p.regions.keys!, bytes = new Uint8Array(r.size).fill(0xff);
  const flash: Flash = {
    geometry: p.flash,
    read: (a, n) => bytes.slice(a - r.addr, a - r.addr + n),
    write: (a, d) => { bytes.set(d, a - r.addr); },
    erase: (u) => { bytes.fill(0xff, u - r.addr, u - r.addr + eraseUnitAt(p.flash, u)!.length); },
    mapped: () => null,
  };
  const rec = new Uint8Array(Kr.LEN);
  rec.set(root, Kr.ROOT);
  if (recordLog(flash, r, Kr.SLOT, true, hostNative).append(Kr.CUR, rec)) throw new PlanError("the keys region cannot take its first record");
  return bytes.subarray(0, eraseUnitAt(p.flash, r.addr)!.length);
}

export function provisioningPlan(o: PlanOptions): string {
  const { p, role, id } = checkOptions(o);
  const dist = o.dist ?? "dist";
  const bundle = (r: string) => {
    const f = join(dist, p.board, `${r}.js`);
    if (!existsSync(f)) throw new PlanError(`${f} is missing: run npm run build`);
    return readFileSync(f, "utf8").replace(/\n\/\/# sourceMappingURL=.*\s*$/, "");
  };
  const cfg: DeviceConfig = { id };
  if (o.modemPath) cfg.modemPath = o.modemPath;
  const keys = o.keys !== undefined ? loadKeys(o.keys) : null;
  // a keyed meter's root key goes into its keys region (the board has one: profiles.ts), which
  // only key rotation writes after this; the configuration record keeps it only where none is
  if (keys && role === "meter" && !p.regions.keys) cfg.key = Buffer.from(rootKey(keys, id)!).toString("hex");
  const cfgBytes = encodeConfig(cfg, hostNative);
  if (cfgBytes.length > CONFIG_SIZE) throw new PlanError(`configuration record is ${cfgBytes.length} bytes, over ${CONFIG_SIZE}`);

  const lines: string[] = [
    `// meterline provisioning: ${role} ${id} on ${p.board}`,
    `var F=require("Flash");`,
  ];
  for (const name of roleRegions(role, p.regions)) {
    const r = (p.regions as Record<string, Region>)[name];
    if (unitsSpanned(p.flash, r) < 1) throw new PlanError(`region ${name} is not whole erase units`);
    lines.push(`// erase ${name}`, ...eraseLines(p, r));
  }
  if (role === "meter") {
    const boot = p.regions.boot!;
    const app = p.regions.app!;
    const routine = Buffer.from(bundle("boot"), "latin1");
    if (routine.length > boot.size - CONFIG_SIZE) throw new PlanError(`boot routine is ${routine.length} bytes; the boot region holds ${boot.size - CONFIG_SIZE}`);
    const program = Buffer.from(bundle("meter"), "latin1");
    if (program.length > app.size - APP_HEADER_SIZE) throw new PlanError(`meter program is ${program.length} bytes; the app region holds ${app.size - APP_HEADER_SIZE}`);
    const header = encodeAppHeader({ length: program.length, crc: hostNative.crc32(program), version: o.version ?? 1 });
    lines.push(`// boot routine (${routine.length} bytes)`, ...writeLines(boot.addr, routine));
    lines.push(`// device configuration`, ...writeLines(boot.addr + boot.size - CONFIG_SIZE, cfgBytes));
    if (keys && p.regions.keys) {
      // only the written slot: the rest of the region stays erased
      const k = keyRegionImage(p, rootKey(keys, id)!), at = k.findIndex((b) => b !== 0xff) & ~3;
      lines.push(`// the meter's root key, generation 0, in its keys region`, ...writeLines(p.regions.keys.addr + at, k.subarray(at, at + Kr.SLOT)));
    }
    lines.push(`// meter program (${program.length} bytes) with its header`, ...writeLines(app.addr, Buffer.concat([header, program])));
    lines.push(`// boot stub`, `require("Storage").write(".boot0",${JSON.stringify(bootStub(p, routine.length))});`);
  } else {
    lines.push(`// device configuration`, `require("Storage").write(${JSON.stringify(CONFIG_FILE)},atob(${JSON.stringify(Buffer.from(cfgBytes).toString("base64"))}));`);
    if (keys) lines.push(`// link keys of ${Object.keys(keys.meters).length} meters`, `require("Storage").write(${JSON.stringify(KEY_FILE)},atob(${JSON.stringify(Buffer.from(concentratorKeyFile(keys)).toString("base64"))}));`);
    lines.push(`// concentrator program`, `require("Storage").write(".boot0",${JSON.stringify(bundle("concentrator"))});`);
  }
  lines.push(`print("meterline: provisioned ${role} ${id}");`, `load();`);
  return lines.join("\n") + "\n";
}

export const TOOL: Tool = {
  name: "flash", run: "node --import tsx tools/flash/plan.ts",
  about: "flash.sh's provisioning plan: the JavaScript the espruino CLI sends to one board (erase the role's\nregions, boot routine, configuration, program, boot stub). --check checks the options only.",
  options: {
    board: { type: "string", value: "B", required: true, help: "the board profile" },
    role: { type: "string", value: "R", required: true, help: "meter or concentrator" },
    id: { type: "string", value: "N", help: `the node's id: a meter's 1 to ${Id.MAX_METER}, a concentrator's 1 to 65534` },
    "modem-path": { type: "string", value: "DEV", help: "the LINUX board's modem device" },
    keys: { type: "string", value: "FILE", help: "the head-end's key file" },
    dist: { type: "string", value: "DIR", help: "the build's folder (default dist)" },
    out: { type: "string", value: "FILE", help: "where the plan goes (required without --check)" },
    check: { type: "boolean", default: false, help: "check the options against the board profile, write nothing" },
  },
  examples: ["node --import tsx tools/flash/plan.ts --board LINUX --role meter --id 7 --out plan.js"],
  notes: ["flash.sh runs it; exit 2 for a bad option, 1 when the plan cannot be made or written"],
};

function main({ values: v }: Parsed): void {
  const id = v.id as string | undefined;
  const o: PlanOptions = { board: v.board as string, role: v.role as string, id: id === undefined ? undefined : /^\d+$/.test(id) ? Number(id) : NaN, modemPath: v["modem-path"] as string | undefined, keys: v.keys as string | undefined, dist: v.dist as string | undefined };
  // the options are the command line's: a bad one is a usage error; a plan that cannot be made is a failure
  try { checkOptions(o); } catch (e) { throw e instanceof UnreadableKeys ? new ToolError(e.message) : e instanceof PlanError ? new UsageError(e.message) : e; }
  if (v.check) return;
  if (!v.out) throw new UsageError("--out FILE is required");
  let plan;
  try { plan = provisioningPlan(o); } catch (e) { throw e instanceof PlanError ? new ToolError(e.message) : e; }
  writeOutput("--out", v.out as string, plan);
}

if (isMain(import.meta.url)) cli(TOOL, main);
