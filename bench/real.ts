/*
 * npm run bench:real: the system on the real interpreter. A concentrator and its meters are
 * Espruino Linux processes under board runners (tools/board), provisioned with flash.sh as a
 * user would, their modem UARTs on socat pseudo-terminals whose other ends the host puts on
 * the simulated power line (bench/real-parts.ts, the bench's ST7580 stand-in). Then, all at
 * wall-clock speed and all through the boards' consoles (tools/console):
 *   1. the clock, discovery, and readings: pulses typed at each meter's console (mlPulse();
 *      the Linux build has no pins), reading rounds, until the meters have saved them;
 *   2. the host's end of every meter's line closed and opened again (the link must heal);
 *   3. a campaign to a v2 whose program body differs from v1's, run by npm run deploy (the
 *      command, on the concentrator's console); one meter loses power during the download,
 *      another during the install that follows its activation;
 *   4. the registers read again;
 *   5. on one meter, a new program that never starts and one that throws at start, staged
 *      into its flash file: the boot routine must revert both by itself; then the shipped
 *      program as a packed image, which it must unpack into the app region and run, and the
 *      same with a corrupted chunk, which must leave the previous program running
 *      (bench/real-boot.ts).
 * It exits 0 only when every meter's app region is v2 byte for byte, its state log holds
 * its CONFIRM, and every register read equals the pulses given (the check npm start makes:
 * bench/run.ts, registerProblems); 1 with the reasons otherwise (one line on stderr); 2 for
 * a bad argument (tools/cli/cli.ts; --help lists the options).
 *
 *   npm run bench:real -- --espruino PATH [--meters 3] [--loss 5] [--seed 1] [--keep DIR] [--no-build]
 *   npm run bench:real -- --espruino PATH --powercuts 200        (bench/real-powercuts.ts)
 *   npm run bench:real -- --espruino PATH --boot                 (step 5 alone, on one meter)
 *
 * It needs the interpreter and socat, so npm test does not run it: docs/bench.md quotes a run.
 */
import { appendFileSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { BoardError, startBoard, type Board, type Life } from "../tools/board/runner";
import { ConsoleError, openConsole, type ConsoleSession } from "../tools/console/session";
import { loadProfile } from "../tools/profiles/profiles";
import { imageFileOf, packImage } from "../tools/image/image";
import { parseArgs as parseDeploy } from "../tools/deploy/deploy";
import { LinkRig, lineFor } from "./rig";
import { lossModel, registerProblems } from "./run";
import { imageOf, type Image } from "./image";
import { appRegion, bridgeLine, confirmedIn, installStage, ptyPair, readFlashFile, RealError, runFlash, savedPulses, type Bridge, type PtyPair } from "./real-parts";
import { powerCutRun } from "./real-powercuts";
import { bootRun, packedChecks, revertChecks } from "./real-boot";
import { encodeAppHeader } from "../firmware/common/image";
import { hostNative } from "../hal/host/native";
import { defaultSettings } from "../firmware/meter/metering";
import { cli, int, interpreter, isMain, ToolError, type Parsed, type Tool } from "../tools/cli/cli";

const BOARD = loadProfile("LINUX");
const CONC_ID = 1;
const FIRST_METER = 3001;
const IMAGE_ID = 2;

export interface RealOptions { espruino: string; meters: number; lossPct: number; seed: number; keep?: string; build: boolean }

const t0 = Date.now();
function log(s: string): void { console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${s}`); }

/** v1's program with `/*vN*\/` and N spaces in front: every byte after it moves, so every flash unit of the app region changes. */
export function programVersion(version: number, dist = "dist"): Image {
  const v1 = packImage(BOARD.board, 1, dist).subarray(16);
  const program = Buffer.concat([Buffer.from(`/*v${version}*/` + " ".repeat(version % 13), "latin1"), v1]);
  const bytes = new Uint8Array([...encodeAppHeader({ length: program.length, crc: hostNative.crc32(program), version }), ...program]);
  return imageOf(bytes, { imageId: version & 0xffff, version, board: BOARD.code, blockSize: 200 });
}

interface Node { id: number; role: "meter" | "concentrator"; folder: string; pty: PtyPair; board: Board; bridge?: Bridge; session?: ConsoleSession; pulses: number; lives: Life[]; startedAt: number }

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null> | T | null, everyMs = 1000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > end) throw new RealError(`${what}: not within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Last register value per meter in the concentrator's CSV export (profile lines, OBIS .29., left out). */
function registers(csv: string[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const l of csv) {
    const f = l.split(",");
    if (f.length < 6 || !/^\d+$/.test(f[0]) || f[1].includes(".29.")) continue;
    m.set(Number(f[0]), Number(f[2]));
  }
  return m;
}

export async function realRun(o: RealOptions): Promise<string[]> {
  interpreter("--espruino", o.espruino); // before the build and the folders (a usage error)
  const dir = o.keep ? resolve(o.keep) : mkdtempSync(join(tmpdir(), "meterline-real-"));
  mkdirSync(dir, { recursive: true });
  log(`boards in ${dir}; interpreter ${o.espruino}`);
  if (o.build) {
    log("npm run build");
    const b = spawnSync("npm", ["run", "--silent", "build"], { stdio: ["ignore", "ignore", "pipe"] });
    if (b.status !== 0) throw new RealError(`npm run build failed: ${b.stderr.toString().trim().split("\n").pop()}`);
  }
  const v2 = programVersion(IMAGE_ID);
  const rig = new LinkRig("st7580", lineFor("st7580", o.seed, { defaults: lossModel(o.lossPct / 100, 3) }));
  // the line's virtual clock held to the wall clock
  const w0 = Date.now();
  const ticker = setInterval(() => { const d = Date.now() - w0 - rig.clock.now(); if (d > 0) rig.clock.advance(d); }, 5);
  const nodes: Node[] = [];
  const problems: string[] = [];
  let finished = false;
  try {
    const ids = [CONC_ID, ...Array.from({ length: o.meters }, (_, i) => FIRST_METER + i)];
    for (const id of ids) {
      const role = id === CONC_ID ? "concentrator" : "meter";
      const folder = join(dir, role === "meter" ? `m${id}` : "conc");
      const pty = await ptyPair(dir, role === "meter" ? `m${id}` : "conc");
      const board = await startBoard({ espruino: o.espruino, folder, role, restartDelayMs: 200 });
      const n: Node = { id, role, folder, pty, board, pulses: 0, lives: board.lives, startedAt: 0 };
      // each board's console, every life, kept in its folder
      board.on("line", (l: string, life: Life) => appendFileSync(join(folder, "console.log"), `${life.n}: ${l}\n`));
      board.on("life-end", (l: Life) => log(`${role} ${id}: life ${l.n} ended (${l.how}${l.reboot ? ", E.reboot()" : l.code !== undefined && l.code !== null ? `, status ${l.code}` : ""})`));
      nodes.push(n);
      log(`${role} ${id}: runner on ${board.url}; flash.sh`);
      // flash.sh checks the started line itself; a failed provisioning is tried twice more,
      // as a user would flash again (its reason is logged)
      for (let attempt = 1; ; attempt++) {
        try {
          await runFlash(["--board", "LINUX", "--role", role, "--id", String(id), "--modem-path", pty.board, "--port", board.url, "--no-build", "--check-timeout", "120"]);
          break;
        } catch (e) {
          if (attempt >= 3) throw e;
          log(`${role} ${id}: ${(e as Error).message}; flashing again`);
        }
      }
      n.startedAt = Date.now();
      n.bridge = await bridgeLine(rig, role === "meter" ? `m${id}` : "conc", pty.bench, o.seed * 31 + id);
      n.session = await openConsole({ port: board.url, timeoutMs: 20_000 });
    }
    const conc = nodes[0], meters = nodes.slice(1);
    let cs = conc.session!;
    const say = async (js: string, timeoutMs = 20_000) => { const a = await cs.command(js, { timeoutMs }); if (a.error) throw new RealError(`concentrator: ${js}: ${a.error}`); return a; };
    const unsolicited: string[] = [];
    const onUnsolicited = (l: string) => { unsolicited.push(l); if (/^meterline: /.test(l)) log(`concentrator: ${l}`); };
    cs.on("unsolicited", onUnsolicited);

    // ---- 1. clock, discovery, readings
    await say(`meterline.time(${Math.floor(Date.now() / 1000)})`);
    let known = 0;
    for (let round = 0; round < 4 && known < meters.length; round++) {
      await say("meterline.discover(8, 300)");
      const l = await cs.waitFor(/^meterline: discovery found \d+ new meters, \d+ known$/, 120_000);
      known = Number(/(\d+) known/.exec(l)![1]);
    }
    if (known < meters.length) throw new RealError(`discovery found ${known} of ${meters.length} meters`);
    log(`discovery: ${known} meters known`);
    const { savePulses, minSaveS } = defaultSettings();
    const give = async (m: Node, k: number) => {
      // inside a function: a `var` typed at the prompt is a global, and the program's own
      // globals have one- and two-letter names (a first version's `var i` replaced one)
      const a = await m.session!.command(`(function(){for(var k=0;k<${k};k++)mlPulse()})()`, { timeoutMs: 20_000 });
      if (a.error) throw new RealError(`meter ${m.id}: mlPulse: ${a.error}`);
      m.pulses += k;
    };
    const readRound = async () => {
      await say("meterline.read()");
      await cs.waitFor(/^meterline: readings round: \d+ collected, \d+ meters did not answer$/, 180_000);
      const csv = (await say(`meterline.export("csv")`, 60_000)).lines;
      return registers(csv);
    };
    // the meter saves its register at most every minSaveS after its start, and at once when
    // savePulses are unsaved then: the last burst, past minSaveS, leaves every pulse saved
    // before the campaign's power cuts
    let regsBefore = new Map<number, number>();
    for (let k = 0; ; k++) {
      // per meter: it cannot save before minSaveS after its start, so pulses given until then
      // stay unsaved; none in the 15 s before that moment (a save in the middle of a burst
      // would leave the rest of it unsaved for another minSaveS); then one last burst
      const age = (m: Node) => (Date.now() - m.startedAt) / 1000;
      const past = meters.every((m) => age(m) > minSaveS + 5);
      for (const m of meters) {
        if (age(m) <= minSaveS + 5) { if (age(m) < minSaveS - 15) await give(m, 10 + ((k * 7 + m.id) % 30)); continue; }
        // what the meter has not saved yet (its registers region, read in its flash file):
        // enough pulses to reach savePulses unsaved, so the last one saves them all
        const unsaved = m.pulses - savedPulses(m.folder, BOARD);
        if (unsaved > 0) await give(m, Math.max(1, savePulses - unsaved));
      }
      regsBefore = await readRound();
      if (past && meters.every((m) => savedPulses(m.folder, BOARD) === m.pulses)) break;
      await new Promise((r) => setTimeout(r, past ? 3000 : 30_000));
    }
    for (let tries = 0; tries < 3 && meters.some((m) => regsBefore.get(m.id) !== m.pulses); tries++) regsBefore = await readRound();
    log(`readings: ${meters.map((m) => `${m.id}: ${regsBefore.get(m.id) ?? "none"} of ${m.pulses} pulses`).join(", ")}`);

    // ---- 2. the host's end of every meter's line closed and opened again
    for (const m of meters) await m.bridge!.reopen();
    log("the bench closed and reopened its end of every meter's line");

    // ---- 3. the campaign, with a cut during the download and one during the install
    // the campaign as npm run deploy runs it (tools/deploy: upload, update, progress to the end), on the bench's session
    const file = imageFileOf(v2.bytes, BOARD.board, v2.session.version, v2.session.blockSize);
    const imagePath = join(dir, "meter-v2.mlim");
    writeFileSync(imagePath, file);
    const dl = meters[0], inst = meters[Math.min(1, meters.length - 1)];
    let installCut = "";
    inst.board.on("life-end", (l: Life) => {
      if (installCut || !l.reboot) return;
      // activated: it rebooted into its boot routine; the power goes as soon as the journal
      // says the copy has started (its START record), watched in the flash file
      installCut = "armed";
      void (async () => {
        const t0 = Date.now();
        for (;;) {
          await new Promise((r) => setTimeout(r, 2));
          const life = inst.board.life;
          if (!life || life.n <= l.n) { if (Date.now() - t0 > 5000) { installCut = "not made: the board did not start again"; return; } continue; }
          const stage = installStage(readFlashFile(inst.folder, BOARD), BOARD, IMAGE_ID);
          if (stage === "none" && Date.now() - t0 < 10_000) continue;
          if (stage === "ended") { installCut = "not made: the install ended between two looks at the journal"; return; }
          if (stage === "none") { installCut = "not made: no install started within 10 s"; return; }
          const ms = Date.now() - life.start;
          await inst.board.cut();
          const after = installStage(readFlashFile(inst.folder, BOARD), BOARD, IMAGE_ID);
          installCut = `${ms} ms into the boot after activation, install ${after === "copying" ? "in the middle of its copy" : "ended just before the cut"}`;
          log(`meter ${inst.id}: power cut ${installCut}`);
          return;
        }
      })();
    });
    const c0 = Date.now();
    let dlCut = "", ended = "";
    // npm run deploy itself, as an operator runs it: the bench lets go of the concentrator's console meanwhile
    const deployArgs = ["--port", conc.board.url, "--image", imagePath, "--image-id", String(IMAGE_ID), "--outdated", "--every", "3", "--stall", "900"];
    parseDeploy(deployArgs); // a bad argument shows here, before the console is let go
    await cs.close();
    const watch = setInterval(() => {
      log(`line ends (to the board / from it, bytes): ${nodes.map((n) => { const c = n.bridge!.counts(); return `${n.role === "meter" ? n.id : "conc"} ${c.tx}/${c.rx}`; }).join(", ")}`);
    }, 30_000);
    const code = await new Promise<number>((resolveCode) => {
      const child = spawn(process.execPath, ["--import", "tsx", "tools/deploy/deploy.ts", ...deployArgs], { stdio: ["ignore", "pipe", "pipe"] });
      const onLine = (l: string) => {
        if (!l) return;
        log(`deploy: ${l}`);
        if (/^meterline: campaign \d+ ended/.test(l)) ended = l;
        // progress lines only ("campaign broadcast, round 0, 52 blocks, ..."), not the started line's block count
        const blocks = Number(/^meterline: campaign [a-z-]+, round \d+, (\d+) blocks,/.exec(l)?.[1] ?? 0);
        if (!dlCut && blocks >= v2.session.blockCount * 0.3) {
          dlCut = `after ${blocks} of ${v2.session.blockCount} blocks broadcast`;
          void dl.board.cut().then(() => log(`meter ${dl.id}: power cut during the download, ${dlCut}`));
        }
      };
      let outBuf = "", errBuf = "";
      child.stdout!.on("data", (b: Buffer) => { outBuf += b.toString(); const ls = outBuf.split("\n"); outBuf = ls.pop()!; ls.forEach(onLine); });
      child.stderr!.on("data", (b: Buffer) => { errBuf += b.toString(); const ls = errBuf.split("\n"); errBuf = ls.pop()!; ls.forEach(onLine); });
      child.on("exit", (c) => { onLine(outBuf); onLine(errBuf); resolveCode(c ?? 1); });
    });
    cs = conc.session = await openConsole({ port: conc.board.url, timeoutMs: 20_000 });
    cs.on("unsolicited", onUnsolicited);
    clearInterval(watch);
    log(`deploy ended with ${code} after ${Math.round((Date.now() - c0) / 1000)} s`);
    if (code !== 0) problems.push(`npm run deploy's campaign exited ${code}${ended ? `: ${ended}` : ""}`);
    if (!dlCut) problems.push(`meter ${dl.id}: the download cut never came`);
    if (!/copy/.test(installCut)) problems.push(`meter ${inst.id}: the install cut ${installCut ? `landed ${installCut}` : "never came"}`);

    // ---- 4. confirmed, then the registers again
    await Promise.all(meters.map((m) => until(`meter ${m.id} confirms v2`, 120_000, () => (confirmedIn(readFlashFile(m.folder, BOARD), BOARD, IMAGE_ID) ? true : null))));
    const regsAfter = await readRound();
    for (const m of meters) {
      const f = readFlashFile(m.folder, BOARD);
      const app = appRegion(f, BOARD, [v2]);
      if (!app.matches) problems.push(`meter ${m.id}: its app region holds v${app.version}, not v2 byte for byte`);
      if (!confirmedIn(f, BOARD, IMAGE_ID)) problems.push(`meter ${m.id}: no CONFIRM of image ${IMAGE_ID} in its state log`);
      problems.push(...registerProblems(m.id, m.pulses, regsBefore.get(m.id) ?? -1, regsAfter.get(m.id) ?? -1));
      log(`meter ${m.id}: app region v${app.version}${app.matches ? " (v2 byte for byte)" : ""}, register ${regsBefore.get(m.id)} before and ${regsAfter.get(m.id)} after (${m.pulses} pulses), ${m.lives.length} lives`);
    }
    for (const n of nodes) if (n.bridge) { const c = n.bridge.counts(); log(`${n.role} ${n.id}: line end ${c.tx} bytes to the board, ${c.rx} from it`); }
    const modemStats = await Promise.all(meters.map(async (m) => `${m.id} ${(await m.session!.command("print(JSON.stringify(meterline.modem.stats))", { timeoutMs: 10_000, echo: false })).lines.join(" ") || "?"}`));
    log(`meters' modem counters: ${modemStats.join("; ")}`);
    // the LINUX profile's boot path: the stub reads the program out of the app region into a RAM string (flash is not memory-mapped there)
    const mem = await Promise.all(nodes.map(async (n) => `${n.role} ${n.id} ${(await n.session!.command("print(JSON.stringify(process.memory()))", { timeoutMs: 10_000, echo: false })).lines.join(" ") || "?"}`));
    log(`variables in use (process.memory()): ${mem.join("; ")}`);

    // ---- 5. a program that never starts, and one that throws: the boot routine reverts both
    const m0 = meters[0];
    await m0.session!.close();
    await m0.board.stop();
    problems.push(...(await revertChecks(o.espruino, m0.folder, m0.id, v2, log)));
    problems.push(...(await packedChecks(o.espruino, m0.folder, m0.id, v2, log)).problems);
    finished = true;
    return problems;
  } finally {
    clearInterval(ticker);
    for (const n of nodes) { await n.session?.close(); n.bridge?.close(); await n.board.stop(); n.pty.close(); }
    // the boards' folders (console logs, flash files) stay after any failure
    if (!o.keep && finished && problems.length === 0) rmSync(dir, { recursive: true, force: true });
    else if (!finished || problems.length) log(`the boards' folders are kept in ${dir}`);
  }
}

export const TOOL: Tool = {
  name: "bench:real", run: "npm run bench:real --",
  about: "The system on the real interpreter: a concentrator and meters as Espruino Linux builds under board\nrunners, provisioned with flash.sh, their modems on the simulated line: readings, a campaign by npm run\ndeploy with power cuts in the download and the install, the registers, and two programs the boot\nroutine must revert, a packed image it must unpack and a corrupted one it must revert. --powercuts N:\nN cuts inside installs instead (bench/real-powercuts.ts); --boot: the boot checks alone. Needs socat.",
  options: {
    espruino: { type: "string", value: "PATH", required: true, help: "an Espruino Linux build (2v29, the resizable build)" },
    meters: { type: "string", value: "N", default: "3", help: "meters, 1 to 20" },
    loss: { type: "string", value: "PCT", default: "5", help: "frame loss on the simulated line, percent" },
    seed: { type: "string", value: "N", default: "1", help: "the line's seed" },
    keep: { type: "string", value: "DIR", help: "keep the boards' folders in DIR" },
    "no-build": { type: "boolean", default: false, help: "do not build the bundles first" },
    powercuts: { type: "string", value: "N", help: "the power-cut run instead: N cuts inside installs" },
    boot: { type: "boolean", default: false, help: "the boot routine's checks alone (reverts, a packed image, a corrupted one) on one meter" },
  },
  examples: ["npm run bench:real -- --espruino ~/Espruino/espruino", "npm run bench:real -- --espruino ~/Espruino/espruino --powercuts 200", "npm run bench:real -- --espruino ~/Espruino/espruino --boot"],
  notes: ["exit 0 when every check passes; 1 with the reasons; 2 for a bad argument"],
};

async function main({ values: v }: Parsed): Promise<number> {
  const s = (n: string) => v[n] as string;
  const o: RealOptions = { espruino: interpreter("--espruino", s("espruino")), meters: int("--meters", s("meters"), 1, 20)!, lossPct: int("--loss", s("loss"), 0, 50)!, seed: int("--seed", s("seed"), 0, 1e9)!, keep: v.keep as string | undefined, build: !v["no-build"] };
  const cuts = int("--powercuts", v.powercuts as string | undefined, 1, 100000) ?? 0;
  let problems: string[];
  try {
    problems = cuts ? await powerCutRun({ ...o, cuts }, log) : v.boot ? await bootRun(o, log) : await realRun(o);
  } catch (e) {
    if (!(e instanceof RealError || e instanceof ConsoleError || e instanceof BoardError)) throw e;
    problems = [(e as Error).message];
  }
  if (problems.length) throw new ToolError(`FAILED: ${problems.join("; ")}`);
  console.log(`bench:real: passed in ${Math.round((Date.now() - t0) / 1000)} s`);
  return 0;
}

if (isMain(import.meta.url)) cli(TOOL, main, { exit: true });
