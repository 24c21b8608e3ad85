/*
 * The shipped meter bundle, provisioned with flash.sh --keys, on the Espruino-shaped VM:
 * commands signed on the host are taken, a changed or replayed one is refused, and its
 * replies verify on the host. The Original's bundle carries none of that code.
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EspruinoDevice, standInModem } from "../harness/espruino-vm";
import { provisioningPlan } from "../../tools/flash/plan";
import { loadProfile } from "../../tools/profiles/profiles";
import { concentratorAuth } from "../../firmware/link/auth";
import { hmacSha256 } from "../../firmware/common/hmac";
import { hostNative } from "../../hal/mock/native";
import { decodeMsg, encodeMsg, newMsg, setMsg } from "../../firmware/protocol/codec";
import { linkKeys, newKeys, rootKey } from "../../tools/keys/keyfile";

describe("the shipped meter bundle with keys", () => {
  it("takes host-signed commands, refuses a changed or replayed one, and signs its replies", () => {
    const dir = mkdtempSync(join(tmpdir(), "keyed-"));
    const keys = newKeys([77]);
    writeFileSync(join(dir, "keys.json"), JSON.stringify(keys));
    const dev = new EspruinoDevice({ profile: loadProfile("LINUX") });
    dev.run(provisioningPlan({ board: "LINUX", role: "meter", id: 77, keys: join(dir, "keys.json") }));
    dev.powerOn();
    const m = dev.global<any>("meterline");
    expect(m.lastError()).toBe(0);
    // a stand-in modem: what the meter sends is kept here
    const sent = standInModem(dev, m.endpoint);
    const k = linkKeys(rootKey(keys, 77)!);
    const h = hmacSha256(hostNative, 242)!;
    const conc = concentratorAuth(h, () => k, () => 0, 1, { load: () => 500, save: () => {} });
    const frame = (v: number) => {
      const msg = setMsg(newMsg(), 0x27, v, 0xffffffff, 0, 77, { key: 3, value: Uint8Array.of(v, 0) });
      conc.seal(msg);
      const b = new Uint8Array(242);
      const n = encodeMsg(msg, b);
      conc.sign(b, n);
      return b.slice(0, n);
    };
    const f1 = frame(41), f2 = frame(42);
    const changed = f1.slice();
    changed[16] ^= 1;
    for (const f of [f1, f2, changed, f1]) { m.endpoint.events.received(f, f.length, 100); dev.clock.advance(50); }
    expect(m.metering.settings.savePulses).toBe(42);
    expect(m.endpoint.stats.authRejected).toBe(2);
    // replies: two ACKs signed under the up key, the bad MAC's error in the clear, and the
    // replay's signed: bound to the replayed command, carrying the meter's mark, no counter of its own
    const replies = sent.map((b) => { const r = newMsg(); expect(decodeMsg(b, b.length, r)).toBe(0); return { r, b }; });
    expect(replies.map(({ r }) => [r.type, r.flags & 1, r.body.code])).toEqual([[0x2a, 1, undefined], [0x2a, 1, undefined], [0x2b, 0, 141], [0x2b, 1, 142]]);
    // each reply: the meter's own counter (1, 2), and a MAC that also covers the counter of the request it answers
    const reqCounter = (f: Uint8Array) => { const r = newMsg(); decodeMsg(f, f.length, r); return r.counter; };
    [f1, f2].forEach((f, i) => {
      const { r, b } = replies[i];
      const mac = new Uint8Array(8);
      h.mac(k.up, b, b.length - 8, mac, 0, 8, reqCounter(f));
      expect(Buffer.from(b.subarray(b.length - 8))).toEqual(Buffer.from(mac));
      expect(r.counter).toBe(i + 1);
      expect(reqCounter(f)).toBeGreaterThan(500);
    });
    const { r: stale, b: sb } = replies[3];
    const smac = new Uint8Array(8);
    h.mac(k.up, sb, sb.length - 8, smac, 0, 8, reqCounter(f1));
    expect(Buffer.from(sb.subarray(sb.length - 8))).toEqual(Buffer.from(smac));
    expect(stale.counter).toBe(reqCounter(f1) + 256); // the mark saved ahead of the first command it took
  });

  it("the Original's bundle has no authentication code; a SHA-256 board's has", () => {
    expect(readFileSync("dist/ESPRUINOBOARD/meter.js", "latin1")).not.toContain("meterline down");
    expect(readFileSync("dist/LINUX/meter.js", "latin1")).toContain("meterline down");
    expect(readFileSync("dist/ESP32/meter.js", "latin1")).toContain("meterline authorise");
  });
});
