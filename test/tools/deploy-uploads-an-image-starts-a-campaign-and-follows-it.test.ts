import { afterEach, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeAppHeader } from "../../firmware/common/image";
import { deploy, endedOf, parseArgs, progressOf } from "../../tools/deploy/deploy";
import { openConsole } from "../../tools/console/session";
import { startFakeConsole, type FakeConsole } from "../fixtures/fake-console";
import { imageFile, imageFileOf } from "../../tools/image/image";
import { packPayload } from "../../tools/image/packed";
import { LinkRig, bootConcentrator, bootMeter, lineFor } from "../../bench/rig";
import { makeProgramImage } from "../harness/scripted-concentrator";
import { consoleApi } from "../../firmware/concentrator/console";
import { hostNative, latin1 } from "../../hal/mock/native";

/**
 * A concentrator's console (test/fixtures/fake-console.ts) with a scripted meterline: update()
 * checks img.bin in Storage and starts; progress() walks broadcast, broadcast, poll, repair and
 * the story's end, printing the console's own line; the story "ended" prints the campaign's
 * unsolicited end line instead of ever saying done; "refuse" answers update() with E93.
 */
function concentrator(story: "ok" | "partial" | "aborted" | "refuse" | "ended" | "stuck") {
  const calls: string[] = [];
  return startFakeConsole({
    globals: (c) => {
      let step = -1;
      return {
        meterline: {
          update(file: string, o: unknown) {
            calls.push(`update ${file} ${JSON.stringify(o)}`);
            if (story === "refuse") { c.print("meterline: a campaign is already running (E93)"); return 93; }
            const size = c.storage.get(file)?.length ?? 0;
            step = 0;
            c.print(`meterline: campaign 2 started: ${size} bytes, ${Math.ceil(size / 200)} blocks, 3 meters`);
            if (story === "ended") setTimeout(() => c.print("meterline: campaign 2 ended: every meter done"), 1500);
            return 0;
          },
          identify() {
            calls.push("identify");
            setTimeout(() => c.print("meterline: identify round: 3 collected, 0 meters did not answer"), 300);
            return 0;
          },
          progress() {
            calls.push("progress");
            if (step < 0) { c.print("meterline: no campaign"); return 85; }
            const end = story === "aborted" ? "aborted" : story === "ended" || story === "stuck" ? "repair" : "done";
            const phases = ["broadcast", "broadcast", "poll", "repair", end];
            const ph = phases[Math.min(step++, phases.length - 1)];
            const done = ph === "done" ? (story === "partial" ? 2 : 3) : 0;
            const k = phases.indexOf(ph); // the same phase twice: the same line twice
            c.print(`meterline: campaign ${ph}, round ${k}, ${k * 40} blocks, ${k * 3} polls, ${k * 50} frames, ${k * 9000} bytes, about ${k * 8} s on air, ${done} of 3 meters updated, ${ph === "done" ? 3 - done : 0} failed${ph === "aborted" ? ", E92" : ""}`);
            return 0;
          },
        },
      };
    },
  }).then((fake) => ({ fake, calls }));
}

function image() {
  const dir = mkdtempSync(join(tmpdir(), "deploy-"));
  const img = join(dir, "m.img");
  writeFileSync(img, Buffer.concat([Buffer.from(encodeAppHeader({ length: 400, crc: 0, version: 5 })), Buffer.alloc(400, 0x20)]));
  return { dir, img };
}

/** npm run deploy as a process (its exit code and stderr), against the fake's port. */
function run(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", "tools/deploy/deploy.ts", ...args], { encoding: "utf8", timeout: 60_000 }, (e, stdout, stderr) => {
      resolve({ status: e ? (typeof e.code === "number" ? e.code : null) : 0, stdout, stderr });
    });
  });
}

const fakes: FakeConsole[] = [];
afterEach(async () => { for (const f of fakes.splice(0)) await f.close(); });

describe("npm run deploy (against a stand-in concentrator console over TCP)", () => {
  it("writes the image, starts the campaign with the image's version, follows progress to the end, exits 0", async () => {
    const { fake, calls } = await concentrator("ok");
    fakes.push(fake);
    const { img } = image();
    const r = await run("--port", fake.url, "--image", img, "--image-id", "2", "--every", "1", "--meters", "1001,1002,1003");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(Buffer.from(fake.storage.get("img.bin")!, "latin1")).toEqual(readFileSync(img));
    expect(calls[0]).toBe('update img.bin {"imageId":2,"version":5,"meters":[1001,1002,1003]}');
    expect(calls.slice(1).every((c) => c === "progress")).toBe(true);
    // the console saw the chunks, the read-back, and the commands as typed
    expect(fake.received.some((l) => l.startsWith('(function(S){print(S.write("img.bin",atob('))).toBe(true);
    expect(fake.received).toContain('meterline.update("img.bin",{"imageId":2,"version":5,"meters":[1001,1002,1003]})');
    const out = r.stdout.split("\n");
    expect(out).toContain("meterline: campaign 2 started: 416 bytes, 3 blocks, 3 meters");
    expect(out.filter((l) => l.startsWith("meterline: campaign broadcast")).length).toBe(1); // repeated lines shown once
    expect(out.some((l) => l.startsWith("meterline: campaign done") && l.includes("3 of 3 meters updated"))).toBe(true);
  });

  it("a packed image: asks the meters' identity first (the concentrator sends a packed image only to meters whose boot routine unpacks), then starts the campaign", async () => {
    const { fake, calls } = await concentrator("ended");
    fakes.push(fake);
    const { dir } = image();
    const body = new TextEncoder().encode("var a=1;".repeat(300));
    const plain = new Uint8Array([...encodeAppHeader({ length: body.length, crc: hostNative.crc32(body), version: 5 }), ...body]);
    const img = join(dir, "p.mlim");
    writeFileSync(img, imageFileOf(packPayload(plain, 2048, { version: 5, board: 3, blockSize: 200 }, hostNative), "LINUX", 5, 200));
    const lines: string[] = [];
    expect(await deploy(parseArgs(["--port", fake.url, "--image", img, "--image-id", "2", "--every", "1"]), (l) => lines.push(l))).toBe(0);
    expect(calls.slice(0, 2)).toEqual(["identify", 'update img.bin {"imageId":2}']);
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    expect(at("meterline: identify round: 3 collected")).toBeGreaterThan(-1);
    expect(at("meterline: identify round")).toBeLessThan(at("meterline: campaign 2 started"));
    // a plain image asks no identity
    const plainCalls = await concentrator("ended");
    fakes.push(plainCalls.fake);
    expect(await deploy(parseArgs(["--port", plainCalls.fake.url, "--image", image().img, "--image-id", "2", "--every", "1"]), () => undefined)).toBe(0);
    expect(plainCalls.calls).not.toContain("identify");
  });

  it("ends on the concentrator's own 'campaign ended' line, even before progress says done", async () => {
    const { fake } = await concentrator("ended");
    fakes.push(fake);
    const { img } = image();
    const lines: string[] = [];
    const d = parseArgs(["--port", fake.url, "--image", img, "--image-id", "2", "--every", "1"]);
    expect(await deploy(d, (l) => lines.push(l))).toBe(0);
    expect(lines[lines.length - 1]).toBe("meterline: campaign 2 ended: every meter done");
    expect(endedOf("meterline: campaign 4 ended: 2 of 3 meters updated; failed: 3003 E94")).toEqual({ ok: false });
    expect(endedOf("meterline: campaign 4 ended (E92)")).toEqual({ ok: false });
  });

  it("exits 1 when a meter failed, when the campaign aborted, when the update was refused, or the port is unreachable", async () => {
    const { img } = image();
    const story = async (s: "partial" | "aborted" | "refuse", ...extra: string[]) => {
      const { fake } = await concentrator(s);
      fakes.push(fake);
      return run("--port", fake.url, "--image", img, "--image-id", "2", "--every", "1", ...extra);
    };
    expect((await story("partial")).status).toBe(1);
    const ab = await story("aborted", "--outdated");
    expect(ab.status).toBe(1);
    expect(ab.stdout).toMatch(/campaign aborted.*E92/);
    // the device's code comes out with its name and meaning
    expect(ab.stdout).toContain(", 0 failed, E92 CAMPAIGN_NO_PROGRESS: no meter made progress for the configured number of rounds\n");
    const ref = await story("refuse");
    expect(ref.status).toBe(1);
    expect(ref.stderr.trim()).toBe("deploy: the campaign did not start: meterline: a campaign is already running (E93 CAMPAIGN_ABORTED: aborted by the operator, or refused because a campaign or a collection round is running)");
    const down = await run("--port", "tcp://127.0.0.1:1", "--image", img, "--image-id", "2");
    expect(down.status).toBe(1);
    expect(down.stderr.trim()).toBe("deploy: tcp://127.0.0.1:1: ECONNREFUSED (UNREACHABLE)");
  });

  it("gives up with exit 1 when the progress line stops changing for --stall seconds (a campaign whose engine stopped)", async () => {
    const { fake } = await concentrator("stuck");
    fakes.push(fake);
    const { img } = image();
    const r = await run("--port", fake.url, "--image", img, "--image-id", "2", "--every", "1", "--stall", "2");
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe("deploy: the campaign made no progress for 2 s (--stall): meterline: campaign repair, round 3, 120 blocks, 9 polls, 150 frames, 27000 bytes, about 24 s on air, 0 of 3 meters updated, 0 failed");
  });

  it("asks again when a progress query goes unanswered, and still follows the campaign to its end", async () => {
    const { fake } = await concentrator("ok");
    fakes.push(fake);
    const { img } = image();
    // the concentrator goes quiet for a while once the campaign runs (busy, or a garbled line)
    const quiet = setInterval(() => {
      if (fake.received.some((l) => l.includes("meterline.update(")) && !fake.mute && !(fake as unknown as { was?: boolean }).was) {
        (fake as unknown as { was?: boolean }).was = true;
        fake.mute = true;
        setTimeout(() => { fake.mute = false; }, 2500);
      }
    }, 50);
    const r = await run("--port", fake.url, "--image", img, "--image-id", "2", "--every", "1", "--timeout", "1");
    clearInterval(quiet);
    expect(r.stdout).toMatch(/deploy: no progress line this time \(NO_ANSWER\); asking again/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/3 of 3 meters updated/);
  });

  it("exits 1 with the reason when the console is taken or the concentrator does not answer", async () => {
    const { img } = image();
    const { fake } = await concentrator("ok");
    fakes.push(fake);
    const other = await openConsole({ port: fake.url });
    await other.ping();
    const taken = await run("--port", fake.url, "--image", img, "--image-id", "2");
    expect(taken.status).toBe(1);
    expect(taken.stderr.trim()).toBe(`deploy: ${fake.url}: the console is in use by another client (TAKEN)`);
    await other.close();
    const mute = await startFakeConsole({ mute: true });
    fakes.push(mute);
    const silent = await run("--port", mute.url, "--image", img, "--image-id", "2", "--timeout", "1");
    expect(silent.status).toBe(1);
    expect(silent.stderr.trim()).toMatch(/^deploy: tcp:\/\/127\.0\.0\.1:\d+: no answer to .* within 1000 ms \(nothing came back\); then no answer to \d rounds of NUL and BEL, ESC \[ 2 H and an empty command in 5 s: the board takes no console input \(a LINUX board: stop its interpreter, the runner starts it again\) \(NO_ANSWER\)$/);
  });

  it("--dry-run prints what it would send and sends nothing; bad arguments exit 2 naming the argument", async () => {
    const { dir, img } = image();
    const r = await run("--port", "/dev/ttyACM9", "--image", img, "--image-id", "2", "--group", "7", "--activate-at", "1795478400", "--dry-run");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`upload: ${img} as img.bin: 416 bytes in 1 chunks, CRC-32 `);
    expect(r.stdout).toContain('start: meterline.update("img.bin",{"imageId":2,"version":5,"group":7,"activateAt":1795478400})');
    const bad = async (...a: string[]) => { const x = await run("--image", img, "--image-id", "2", ...a, ...(a.includes("--port") ? [] : ["--port", "/dev/x"])); expect(x.status).toBe(2); return x.stderr.trim(); };
    expect(await bad("--meters", "1,x")).toBe('deploy: --meters must be a whole number from 1 to 4294901759, got "x"');
    expect(await bad("--outdated", "--group", "3")).toBe("deploy: choose one of --meters, --outdated and --group");
    expect(await bad("--block-size", "202")).toBe("deploy: --block-size must be a multiple of 4, got 202");
    expect(await bad("--colour", "red")).toBe('deploy: unknown option "--colour" (--help lists the options)');
    expect(await bad("--every", "0")).toBe('deploy: --every must be a whole number from 1 to 3600, got "0"');
    expect(await bad("--port", "p")).toBe('deploy: --port: "p" is neither a serial device path (/dev/...) nor tcp://host:port');
    const noimg = await run("--port", "/dev/x", "--image", "package.json", "--image-id", "1");
    expect(noimg.status).toBe(2);
    expect(noimg.stderr.trim()).toBe("deploy: --image package.json: not an update image (no program header; make one with npm run image or npm run pack)");
    // an image file brings its version; the head-end's tags go up beside it
    const mlim = join(dir, "m.mlim");
    writeFileSync(mlim, imageFile("LINUX", 6));
    // (a tags file as keys authorise writes it: the block key's record, id 0, then each meter's)
    const tagsBytes = new Uint8Array(80);
    new DataView(tagsBytes.buffer).setUint32(40, 1001, true);
    writeFileSync(join(dir, "t.tags"), tagsBytes);
    const f = await run("--port", "/dev/x", "--image", mlim, "--image-id", "3", "--tags", join(dir, "t.tags"), "--dry-run");
    expect(f.stdout).toContain(`upload: ${join(dir, "t.tags")} as img.tags: 80 bytes in 1 chunks`);
    // one of the format before the block key (24-byte records) is refused before anything is sent
    writeFileSync(join(dir, "old.tags"), new Uint8Array(48));
    const old = await run("--port", "/dev/x", "--image", mlim, "--image-id", "3", "--tags", join(dir, "old.tags"), "--dry-run");
    expect([old.status, old.stdout, old.stderr.trim()]).toEqual([2, "", `deploy: --tags ${join(dir, "old.tags")}: not a tags file of npm run keys -- authorise (40-byte records, the block key's first)`]);
    expect(f.stdout).toContain('start: meterline.update("img.bin",{"imageId":3,"tags":"img.tags"})');
  });

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
