import { describe, expect, it } from "vitest";
import { createHmac } from "node:crypto";
import { hexKey, hmacSha256, sameBytes } from "../../../firmware/common/hmac";
import { hostNative, hostNativeNoSha } from "../../../hal/mock/native";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("HMAC-SHA256 over the one-shot native SHA-256", () => {
  it("gives RFC 4231 test case 2 and agrees with Node's HMAC on random keys and messages", () => {
    const h = hmacSha256(hostNative, 300)!;
    const out = new Uint8Array(32);
    const msg = new TextEncoder().encode("what do ya want for nothing?");
    h.mac(new TextEncoder().encode("Jefe"), msg, msg.length, out, 0, 32);
    expect(hex(out)).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    for (let i = 0; i < 50; i++) {
      const key = Uint8Array.from({ length: 16 }, (_, k) => (k * 31 + i * 7) & 255);
      const data = Uint8Array.from({ length: (i * 37) % 300 }, (_, k) => (k * i) & 255);
      const o = new Uint8Array(12);
      h.mac(key, data, data.length, o, 2, 8);
      expect(hex(o.subarray(2, 10))).toBe(createHmac("sha256", key).update(data).digest("hex").slice(0, 16));
      expect(o[0]).toBe(0);
    }
  });

  it("derives different keys per label, and none without native SHA-256", () => {
    const h = hmacSha256(hostNative, 64)!;
    const root = hexKey("000102030405060708090a0b0c0d0e0f", 16)!;
    const down = h.derive(root, "meterline down"), up = h.derive(root, "meterline up");
    expect(hex(down)).toBe(createHmac("sha256", root).update("meterline down").digest("hex").slice(0, 32));
    expect(hex(down)).not.toBe(hex(up));
    expect(hmacSha256(hostNativeNoSha, 64)).toBeNull();
    expect(hexKey("00zz", 2)).toBeNull();
    expect(hexKey("0001", 3)).toBeNull();
    expect(sameBytes(down, 0, down, 0, 16)).toBe(true);
    expect(sameBytes(down, 0, up, 0, 16)).toBe(false);
  });
});
