import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { EspruinoDevice } from "../harness/espruino-vm";
import { loadProfile } from "../../tools/profiles/profiles";
import { writeFileSync } from "node:fs";
import { newKeys, rootKey } from "../../tools/keys/keyfile";
import { readConfig } from "../../firmware/common/config";
import { recordLog } from "../../firmware/common/records";
import { Kr } from "../../firmware/meter/authorise";
import { hostNative } from "../../hal/mock/native";
import { concentratorAuth } from "../../firmware/link/auth";
import { hmacSha256 } from "../../firmware/common/hmac";
import { linkKeys } from "../../tools/keys/keyfile";
import { encodeMsg, newMsg, setMsg } from "../../firmware/protocol/codec";
import { P, T } from "../../firmware/protocol/catalogue";

const flash = (...args: string[]) => spawnSync("bash", ["flash.sh", "--no-build", ...args], { encoding: "utf8" });

describe("flash.sh", () => {
  it("--dry-run writes the upload for the espruino CLI, and that upload provisions a working meter", () => {
    const out = join(mkdtempSync(join(tmpdir(), "ml-")), "plan.js");
    const r = flash("--board", "ESP32", "--role", "meter", "--id", "77", "--port", "/dev/ttyUSB0", "--dry-run", out);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const plan = readFileSync(out, "utf8");
    expect(plan.split("\n")[0]).toBe("// would run: npx --no-install espruino --no-ble -p /dev/ttyUSB0 <this file>");
    const p = loadProfile("ESP32");
    // every erase unit of every meter region is erased, boot first
    const erases = [...plan.matchAll(/F\.erasePage\((0x[0-9a-f]+)\)/g)].map((m) => parseInt(m[1], 16));
    const units = ["boot", "state", "registers", "profile", "app", "buffer", "journal", "prev", "keys"].reduce((n, k) => n + (p.regions as any)[k].size / 4096, 0);
    expect(erases.length).toBe(units);
    expect(erases[0]).toBe(p.regions.boot!.addr);
    // ESP32 flash is not memory-mapped: the stub reads the routine
    expect(plan).toMatch(/require\("Storage"\)\.write\("\.boot0","eval\(E\.toString\(require\(\\"Flash\\"\)\.read\(\d+,0x360000\)\)\);while\(global\.mlBoot\)try\{eval\(mlBoot\(\)\)\}catch\(e\)\{mlThrew=1;eval\(E\.toString\(require\(\\"Flash\\"\)\.read\(\d+,0x360000\)\)\)\}if\(global\.mlRan==2\)setTimeout\(function\(\)\{if\(!global\.mlUp\)\{mlThrew=2;try\{eval\(E\.toString\(require\(\\"Flash\\"\)\.read\(\d+,0x360000\)\)\)\}catch\(e\)\{\}E\.reboot\(\)\}\},20000\)"\);/);
    const dev = new EspruinoDevice({ profile: p });
    dev.run(plan);
    dev.powerOn();
    expect(dev.global<{ config: { id: number } }>("meterline").config.id).toBe(77);
  });

  it("--keys puts a keyed meter's root key in its keys region, not in its configuration, and the meter starts keyed with it", () => {
    const dir = mkdtempSync(join(tmpdir(), "ml-")), keys = join(dir, "keys.json"), out = join(dir, "plan.js");
    const k = newKeys([1001]);
    writeFileSync(keys, JSON.stringify(k));
    const r = flash("--board", "ESP32", "--role", "meter", "--id", "1001", "--keys", keys, "--port", "/dev/ttyUSB0", "--dry-run", out);
    expect(r.stderr).toBe("");
    const p = loadProfile("ESP32");
    const dev = new EspruinoDevice({ profile: p });
    dev.run(readFileSync(out, "utf8"));
    const cfg = readConfig(dev.flash, hostNative, p.regions.boot!);
    expect(typeof cfg === "object" && cfg.id).toBe(1001);
    expect(typeof cfg === "object" && cfg.key).toBe(undefined);
    const rec = recordLog(dev.flash, p.regions.keys!, Kr.SLOT, true, hostNative).read(Kr.CUR)!;
    expect(Array.from(rec.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(Buffer.from(rec.subarray(Kr.ROOT)).toString("hex")).toBe(Buffer.from(rootKey(k, 1001)!).toString("hex"));
    dev.powerOn();
    const m = dev.global<{ config: { id: number }; endpoint: { events: { received(b: Uint8Array, n: number, q: number): void }; stats: { received: number; authRejected: number } } }>("meterline");
    expect(m.config.id).toBe(1001);
    // keyed with the region's key: a command sealed under its link keys is taken, one under another key refused
    const frame = (root: Uint8Array) => {
      const c = concentratorAuth(hmacSha256(hostNative, 242)!, () => linkKeys(root), () => 0, 1, { load: () => 5000, save: () => {} });
      const msg = setMsg(newMsg(), T.STATUS_REQ, 1, P.BROADCAST_ID, P.TO_METER, 1001, {});
      expect(c.seal(msg)).toBe(0);
      const buf = new Uint8Array(242), n = encodeMsg(msg, buf);
      c.sign(buf, n);
      return { buf, n };
    };
    const good = frame(rootKey(k, 1001)!), bad = frame(new Uint8Array(16).fill(9));
    m.endpoint.events.received(bad.buf, bad.n, 0);
    expect([m.endpoint.stats.received, m.endpoint.stats.authRejected]).toEqual([0, 1]);
    m.endpoint.events.received(good.buf, good.n, 0);
    expect([m.endpoint.stats.received, m.endpoint.stats.authRejected]).toEqual([1, 1]);
  });

  it("a memory-mapped board gets a stub that evaluates the boot region in place", () => {
    const out = join(mkdtempSync(join(tmpdir(), "ml-")), "plan.js");
    expect(flash("--board", "ESPRUINOBOARD", "--role", "meter", "--id", "3", "--dry-run", out).status).toBe(0);
    expect(readFileSync(out, "utf8")).toMatch(/"eval\(E\.memoryArea\(0x8040000,\d+\)\);while\(global\.mlBoot\)try\{eval\(mlBoot\(\)\)\}catch\(e\)\{mlThrew=1;eval\(E\.memoryArea\(0x8040000,\d+\)\)\}if\(global\.mlRan==2\)setTimeout\(function\(\)\{if\(!global\.mlUp\)\{mlThrew=2;try\{eval\(E\.memoryArea\(0x8040000,\d+\)\)\}catch\(e\)\{\}E\.reboot\(\)\}\},20000\)"/);
  });

  it("refuses bad arguments with one clear line and exit 2", () => {
    const cases: [string[], RegExp][] = [
      [["--board", "NOPE", "--role", "meter", "--id", "1", "--port", "/dev/x"], /unknown board "NOPE" \(known: ESP32 ESPRUINOBOARD/],
      [["--role", "meter", "--id", "1", "--port", "/dev/x"], /--board is required/],
      [["--board", "LINUX", "--role", "meter", "--port", "/dev/x"], /--id is required for a meter/],
      // a concentrator is named too: its address on the line is 0xFFFF0000 + its id, above every meter id
      [["--board", "LINUX", "--role", "concentrator", "--port", "/dev/x"], /--id is required for a concentrator: a meter's 1 to 4294901759, a concentrator's 1 to 65534/],
      [["--board", "LINUX", "--role", "concentrator", "--id", "65535", "--port", "/dev/x"], /--id must be a whole number from 1 to 65534 for a concentrator/],
      [["--board", "LINUX", "--role", "meter", "--id", "4294901760", "--port", "/dev/x"], /--id must be a whole number from 1 to 4294901759 for a meter/],
      [["--board", "LINUX", "--role", "meter", "--id", "1"], /--port is required/],
      [["--board", "LINUX", "--role", "gateway", "--port", "/dev/x"], /--role must be meter or concentrator/],
      [["--board", "LINUX", "--role", "meter", "--id", "0", "--port", "/dev/x"], /--id must be a whole number/],
      [["--board", "LINUX", "--role", "meter", "--id", "x1", "--port", "/dev/x"], /--id must be a whole number/],
      [["--board", "PICO", "--role", "meter", "--id", "1", "--port", "/dev/x"], /board PICO cannot take the meter role/],
      [["--board", "ESP32", "--role", "meter", "--id", "1", "--port", "/dev/x", "--modem-path", "/dev/pts/1"], /--modem-path applies to the LINUX board only/],
      [["--board", "LINUX", "--role", "meter", "--id", "1", "--frobnicate"], /^flash: unknown option "--frobnicate" \(--help lists the options\)$/],
    ];
    for (const [args, message] of cases) {
      const r = flash(...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr.trim(), args.join(" ")).toMatch(message);
    }
  });
});
