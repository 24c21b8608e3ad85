/*
 * `npm run keys -- rotate` (tools/keys/keys.ts): the head-end's side of key rotation. It keeps
 * each meter's next key in the key file until --commit, writes the concentrator's rotation
 * file (each new key wrapped under the meter's current one, and the new link keys), makes the
 * same file again while nothing was committed, and refuses what cannot be right.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { hexKey } from "../../firmware/common/hmac";
import { linkKeys, rotationFor, type KeyFile } from "../../tools/keys/keyfile";
import { ROT_RECORD } from "../../firmware/concentrator/keystore";

const keys = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "tools/keys/keys.ts", ...args], { encoding: "utf8" });

describe("keys rotate", () => {
  it("writes a rotation file the meters' current keys open, keeps the next keys until --commit, and commit makes them the keys", () => {
    const dir = mkdtempSync(join(tmpdir(), "ml-rot-")), kf = join(dir, "keys.json"), rot = join(dir, "ml.rot");
    expect(keys("new", "--meters", "1001-1003", "--out", kf).status).toBe(0);
    const before: KeyFile = JSON.parse(readFileSync(kf, "utf8"));
    const r = keys("rotate", "--keys", kf, "--meters", "1001,1003", "--out", rot);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(`keys: ${rot}: rotation of 2 meters (generations 1); ${kf} keeps their next keys until rotate --commit`);
    const after: KeyFile = JSON.parse(readFileSync(kf, "utf8"));
    expect(statSync(kf).mode & 0o777).toBe(0o600);
    expect(after.meters).toEqual(before.meters);
    expect(Object.keys(after.next!)).toEqual(["1001", "1003"]);
    expect(after.next!["1001"].gen).toBe(1);
    expect(after.next!["1001"].key).not.toBe(before.meters["1001"]);
    const file = new Uint8Array(readFileSync(rot));
    expect(file.length).toBe(2 * ROT_RECORD);
    const view = new DataView(file.buffer, file.byteOffset);
    ["1001", "1003"].forEach((id, i) => {
      const o = i * ROT_RECORD, next = hexKey(after.next![id].key, 16)!;
      expect(view.getUint32(o, true)).toBe(+id);
      expect(Array.from(file.subarray(o + 4, o + 40))).toEqual(Array.from(rotationFor(hexKey(before.meters[id], 16)!, +id, 1, next)));
      expect(Array.from(file.subarray(o + 40, o + 56))).toEqual(Array.from(linkKeys(next).down));
      expect(Array.from(file.subarray(o + 56, o + 72))).toEqual(Array.from(linkKeys(next).up));
    });
    // made again before a commit: the same keys, the same file
    expect(keys("rotate", "--keys", kf, "--meters", "1001,1003", "--out", join(dir, "again.rot")).status).toBe(0);
    expect(readFileSync(join(dir, "again.rot"))).toEqual(readFileSync(rot));
    // committed for 1001 only
    const c = keys("rotate", "--commit", "--keys", kf, "--meters", "1001");
    expect(c.stdout.trim()).toBe(`keys: ${kf}: 1 meters on their new keys (the old ones kept under "previous")`);
    const done: KeyFile = JSON.parse(readFileSync(kf, "utf8"));
    expect(done.meters["1001"]).toBe(after.next!["1001"].key);
    expect(done.previous!["1001"]).toBe(before.meters["1001"]);
    expect(done.generations!["1001"]).toBe(1);
    expect(Object.keys(done.next!)).toEqual(["1003"]);
    // the next rotation of 1001 is generation 2, wrapped under its new key
    expect(keys("rotate", "--keys", kf, "--meters", "1001", "--out", rot).stdout).toContain("generations 2");
    const next2 = hexKey((JSON.parse(readFileSync(kf, "utf8")) as KeyFile).next!["1001"].key, 16)!;
    expect(Array.from(new Uint8Array(readFileSync(rot)).subarray(4, 40))).toEqual(Array.from(rotationFor(hexKey(after.next!["1001"].key, 16)!, 1001, 2, next2)));
  });

  it("refuses what cannot be right with one line, and changes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "ml-rot-")), kf = join(dir, "keys.json");
    expect(keys("new", "--meters", "1001", "--out", kf).status).toBe(0);
    const text = readFileSync(kf, "utf8");
    const cases: [string[], number, RegExp][] = [
      [["rotate", "--keys", kf, "--commit"], 2, /--commit needs --meters/],
      [["rotate", "--keys", kf], 2, /--out FILE is required/],
      [["rotate", "--keys", kf, "--commit", "--meters", "1001", "--out", join(dir, "x")], 2, /--out goes without --commit/],
      [["rotate", "--keys", kf, "--meters", "1002", "--out", join(dir, "x")], 1, /meter 1002 has no key/],
      [["rotate", "--keys", kf, "--commit", "--meters", "1001"], 1, /meter 1001 has no rotation to commit/],
    ];
    for (const [args, status, message] of cases) {
      const r = keys(...args);
      expect(r.status, args.join(" ")).toBe(status);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(readFileSync(kf, "utf8")).toBe(text);
    }
    // a key file whose next entry is damaged is not read
    const k = JSON.parse(text);
    k.next = { "1001": { gen: 0, key: "00" } };
    writeFileSync(kf, JSON.stringify(k));
    expect(keys("rotate", "--keys", kf, "--meters", "1001", "--out", join(dir, "x")).stderr).toMatch(/next\["1001"\]: needs gen/);
  });
});
