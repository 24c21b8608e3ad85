import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeAppHeader } from "../../firmware/common/image";
import { progressOf } from "../../tools/deploy/deploy";
import { imageFile } from "../../tools/image/image";
import { LinkRig, bootConcentrator, bootMeter, lineFor } from "../../bench/rig";
import { makeProgramImage } from "../harness/scripted-concentrator";
import { consoleApi } from "../../firmware/concentrator/console";
import { hostNative, latin1 } from "../../hal/mock/native";

function setup(story: string) {
  const dir = mkdtempSync(join(tmpdir(), "deploy-"));
  const img = join(dir, "m.img");
  writeFileSync(img, Buffer.concat([Buffer.from(encodeAppHeader({ length: 400, crc: 0, version: 5 })), Buffer.alloc(400, 0x20)]));
  const run = (...extra: string[]) => spawnSync(process.execPath, ["--import", "tsx", "tools/deploy/deploy.ts", "--port", "/dev/ttyACM9", "--image", img, "--image-id", "2", "--every", "1", "--cli", `node test/fixtures/fake-espruino.mjs`, ...extra],
    { encoding: "utf8", env: { ...process.env, FAKE_ESPRUINO_DIR: dir, FAKE_ESPRUINO_SCRIPT: story }, timeout: 60_000 });
  const calls = () => readFileSync(join(dir, "calls.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as string[]);
  return { dir, img, run, calls };
}

describe("npm run deploy (against a stand-in espruino CLI)", () => {
  it("uploads the image, starts the campaign with the image's version, follows progress to the end, exits 0", () => {
    const s = setup("ok");
    const r = s.run("--meters", "1001,1002,1003");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const c = s.calls();
    expect(c[0]).toEqual(["-p", "/dev/ttyACM9", "--storage", `img.bin:${s.img}`]);
    expect(c[1]).toEqual(["-p", "/dev/ttyACM9", "-e", 'meterline.update("img.bin",{"imageId":2,"version":5,"meters":[1001,1002,1003]})']);
    expect(c.slice(2).every((x) => x[3] === "meterline.progress()")).toBe(true);
    expect(readFileSync(join(s.dir, "img.bin"))).toEqual(readFileSync(s.img));
    const out = r.stdout.split("\n");
    expect(out).toContain("meterline: campaign 2 started: 416 bytes, 3 blocks, 3 meters");
    expect(out.filter((l) => l.startsWith("meterline: campaign broadcast")).length).toBe(1); // repeated lines shown once
    expect(out.some((l) => l.startsWith("meterline: campaign done") && l.includes("3 of 3 meters updated"))).toBe(true);
  });

  it("exits 1 when a meter failed, when the campaign aborted, when the update was refused, or the port is down", () => {
    expect(setup("partial").run().status).toBe(1);
    const ab = setup("aborted").run("--outdated");
    expect(ab.status).toBe(1);
    expect(ab.stdout).toMatch(/campaign aborted.*E92/);
    const ref = setup("refuse").run();
    expect(ref.status).toBe(1);
    expect(ref.stderr.trim()).toBe("deploy: the campaign did not start: meterline: a campaign is already running (E93)");
    const down = setup("down").run();
    expect(down.status).toBe(1);
    expect(down.stderr.trim()).toBe("deploy: node failed (exit 1): Unable to connect to /dev/ttyACM9");
  }, 60_000);

  it("--dry-run prints the three commands and runs nothing; bad arguments exit 2 naming the argument", () => {
    const s = setup("ok");
    const r = s.run("--group", "7", "--activate-at", "1795478400", "--dry-run");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`upload: node test/fixtures/fake-espruino.mjs -p /dev/ttyACM9 --storage img.bin:${s.img}`);
    expect(r.stdout).toContain(`start: node test/fixtures/fake-espruino.mjs -p /dev/ttyACM9 -e 'meterline.update("img.bin",{"imageId":2,"version":5,"group":7,"activateAt":1795478400})'`);
    expect(() => s.calls()).toThrow(); // nothing ran
    const bad = (...a: string[]) => s.run(...a).stderr.trim();
    expect(bad("--meters", "1,x")).toBe('deploy: --meters must be a whole number from 1 to 4294967294, got "x"');
    expect(bad("--outdated", "--group", "3")).toBe("deploy: choose one of --meters, --outdated and --group");
    expect(bad("--block-size", "202")).toBe("deploy: --block-size must be a multiple of 4, got 202");
    expect(bad("--colour", "red")).toBe('deploy: unknown argument "--colour"');
    const noimg = spawnSync(process.execPath, ["--import", "tsx", "tools/deploy/deploy.ts", "--port", "p", "--image", "package.json", "--image-id", "1"], { encoding: "utf8" });
    expect(noimg.status).toBe(2);
    expect(noimg.stderr.trim()).toBe("deploy: --image package.json: not an update image (no program header; make one with npm run image or npm run pack)");
    // an image file brings its version; the head-end's tags go up beside it
    const mlim = join(s.dir, "m.mlim");
    writeFileSync(mlim, imageFile("LINUX", 6));
    writeFileSync(join(s.dir, "t.tags"), new Uint8Array(24));
    const f = spawnSync(process.execPath, ["--import", "tsx", "tools/deploy/deploy.ts", "--port", "p", "--image", mlim, "--image-id", "3", "--tags", join(s.dir, "t.tags"), "--dry-run"], { encoding: "utf8" });
    expect(f.stdout).toContain(`--storage img.bin:${mlim} --storage img.tags:${join(s.dir, "t.tags")}`);
    expect(f.stdout).toContain(`-e 'meterline.update("img.bin",{"imageId":3,"tags":"img.tags"})'`);
  }, 60_000);

  it("reads the progress line the real concentrator console prints", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 31));
    const ids = [901, 902];
    for (const id of ids) bootMeter(rig, `m${id}`, id, { version: 1, autoRestart: true });
    const conc = bootConcentrator(rig, "conc", ids);
    rig.clock.advance(3000);
    const out: string[] = [];
    const img = makeProgramImage(2, 800, 200, { imageId: 12 });
    const ml = consoleApi(conc.ctx, hostNative, 1, () => latin1(img.bytes), (l) => out.push(l), { bitRate: 9600, frameOverhead: 16, hostBaud: 57600 });
    expect(ml.update("img.bin", { imageId: 12, version: 2 })).toBe(0);
    ml.progress();
    expect(progressOf(out[out.length - 1])).toMatchObject({ phase: "control", updated: 0, meters: 2, failed: 0 });
    const end = rig.clock.now() + 600_000;
    while (conc.ctx.campaign()!.phase() !== 7 && rig.clock.now() < end) rig.clock.advance(500);
    ml.progress();
    expect(progressOf(out[out.length - 1])).toEqual({ phase: "done", updated: 2, meters: 2, failed: 0 });
  }, 60_000);
});
