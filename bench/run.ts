/*
 * Runs a scenario on the virtual bench: one concentrator and the scenario's meters, all
 * the real firmware modules on mocked hardware, on the simulated power line, in virtual
 * time. A day of readings, then a campaign from the installed program to the image, with
 * the scenario's power cuts; then the checks that decide the exit code. Host code.
 */
import { hostNative, latin1 } from "../hal/mock/native";
import { PowerCut } from "../hal/mock/flash";
import { Rng } from "../hal/mock/rng";
import type { LinkModel } from "../hal/mock/powerline";
import { install } from "../firmware/boot/install";
import { consoleApi } from "../firmware/concentrator/console";
import { describeErr } from "../tools/errors/table";
import { imageFileOf, packImage } from "../tools/image/image";
import { loadProfile } from "../tools/profiles/profiles";
import { LinkRig, bootConcentrator, bootMeter, lineFor, type ConcNode, type MeterNode } from "./rig";
import { imageOf, programImage, type Image } from "./image";
import { KIND_CODE, type Scenario } from "./scenario";
import { bridgeBoard, openPort, type Port } from "./hil";
import { createHash } from "node:crypto";
import { concentratorKeyFile, KEY_FORMAT, linkKeys, rootKey, tagFor, tagsFile, type KeyFile } from "../tools/keys/keyfile";
import { keyFile as keyFileLookup } from "../firmware/concentrator/keystore";
import { TAG_INSTALL } from "../firmware/common/hmac";
import { Ms, Ph, PHASE_NAMES, STATE_NAMES } from "../firmware/concentrator/campaign";
import { Iv } from "../firmware/meter/metering";
import { decodeAppHeader } from "../firmware/common/image";
import { APP_HEADER_SIZE } from "../firmware/common/layout";
import { T } from "../firmware/protocol/catalogue";
import { forEachMissing, type MissingReport } from "../firmware/protocol/missing";
import type { Msg } from "../firmware/protocol/codec";

/** Unix time the bench's day starts at (2026-11-24 00:00 UTC). */
export const DAY0 = 1_795_478_400;

/**
 * The campaign's state at time t (s from its start): taken every 5 s of virtual time and
 * whenever the phase changes. `held`: the blocks each meter holds, in the scenario's meter
 * order: a simulated meter's own count (all of them once its boot routine installed the
 * image), -1 while it is off; a real board holds all once the campaign counts it complete,
 * else -1 (the bench cannot see into it). `blocksHeld`: their sum; `complete`: the meters the
 * campaign counts complete. `waiting`: on leaving the read-back, the meters it did not find
 * activated and their states (why the campaign goes on).
 */
export interface Sample {
  t: number; phase: string; blocksHeld: number; complete: number; airtimeMs: number; held: number[];
  waiting?: { id: number; state: string }[];
}

/**
 * What the concentrator heard in one round of the campaign (round 0: the answers to the
 * control's query, before the first round). `t`: its first answer, s from the campaign's start.
 * `missing[b]`: how many meters' status reports named block b missing (the patent method polls
 * each unfinished meter for one; the coded method only its stragglers). `need`: per meter id,
 * what it still needs: the blocks missing in its status report, or the deficit in its
 * DEFICIT answer (coded: useful repair blocks), 0 for DOWNLOAD_COMPLETE.
 */
export interface RoundHeard { round: number; t: number; missing: number[]; need: Record<string, number> }

/**
 * One meter's readings as the concentrator filed them: registers and wall-clock load-profile
 * intervals as [unix time s, raw value] (value x 10^scaler in `unit`), oldest first.
 */
export interface MeterReadings { id: number; unit: string; scaler: number; registers: [number, number][]; intervals: [number, number][] }

/** Unit codes of the readings file (as firmware/concentrator/readings.ts names them on export). */
const UNIT_NAMES: Record<number, string> = { 30: "Wh", 32: "varh", 13: "m3", 27: "W" };

export interface MeterSummary {
  id: number; kind: string; version: number; confirmed: boolean; campaignState: string; code: number;
  /** Pulses the bench gave the meter (-1 for a real board). */
  pulses: number; preClock: number; register: number;
  /** Where a real board is attached. */
  board?: string; registerAfter: number; intervals: number; intervalSum: number; cuts: string[];
}

export interface RunResult {
  ok: boolean;
  /** Why the run failed (empty when ok). */
  reason: string;
  scenario: Scenario;
  image: { size: number; blocks: number; version: number; source: string };
  meters: MeterSummary[];
  campaign: { code: number; rounds: number; polls: number; blocks: number; frames: number; bytes: number; virtualMs: number };
  readings: { rounds: number; collected: number; missed: number; lines: number };
  line: { frames: number; bytes: number; airtimeMs: number };
  airtimeByPhase: Record<string, number>;
  timeline: Sample[];
  /**
   * What happened, at virtual time t (s since the run began): power cuts, restarts, the
   * campaign's start and end... `meter` and `kind` for what happened to one meter.
   */
  events: RunEvent[];
  /** The campaign's rounds, as the concentrator heard them (the report's heat map). */
  rounds: RoundHeard[];
  /** Every meter's readings (the report's readings and load-profile plots). */
  meterReadings: MeterReadings[];
  /** When the concentrator set the clock to DAY0 (s since the run began). */
  clockSetS: number;
  /** When the campaign began (s since the run began): the progress chart's time 0. */
  campaignStartS: number;
  wallMs: number;
}

export interface RunEvent { t: number; text: string; meter?: number; kind?: "cut" | "power-back" | "restart" }

export interface RunHooks {
  /** Called about every virtual minute: what runs and how far it got (0..1). */
  progress?(stage: string, fraction: number, detail: string): void;
}

/**
 * Every reading accounted for: the register read before the update equals the pulses the
 * meter was given, and the one read after it equals that (the update loses nothing). The
 * check npm start makes for every simulated meter, and bench:real for real interpreters.
 */
export function registerProblems(id: number, pulses: number, before: number, after: number): string[] {
  if (before !== pulses) return [`meter ${id}: register read ${before < 0 ? "never" : before} before the update, ${pulses} pulses counted`];
  if (after !== before) return [`meter ${id}: register ${after < 0 ? "never read" : after} after the update, ${before} before`];
  return [];
}

/** The line's loss model: average loss p in bursts of mean length `meanBurst` (Gilbert-Elliott), or independent. */
export function lossModel(p: number, meanBurst: number): LinkModel {
  if (p <= 0) return {};
  if (p >= 1 || meanBurst <= 1) return { loss: p };
  const toGood = 1 / meanBurst;
  return { ge: { pGoodToBad: (p * toGood) / (1 - p), pBadToGood: toGood, lossGood: 0, lossBad: 1 } };
}

/** Meters not updated, grouped by state and code: "2001, 2002 failed (E94 CAMPAIGN_NO_ANSWER: ...); 2003 downloading". */
export function notUpdated(ms: { id: number; campaignState: string; code: number }[]): string {
  const groups = new Map<string, { ids: number[]; state: string; code: number }>();
  for (const m of ms) {
    const k = `${m.campaignState} ${m.code}`;
    if (!groups.has(k)) groups.set(k, { ids: [], state: m.campaignState, code: m.code });
    groups.get(k)!.ids.push(m.id);
  }
  return [...groups.values()].map((g) => `${g.ids.join(", ")} ${g.state}${g.code ? ` (${describeErr(g.code)})` : ""}`).join("; ");
}

/** Every simulated node is a LINUX board. */
const BOARD = loadProfile("LINUX");

function imageFor(sc: Scenario): Image {
  const f = { imageId: sc.image.version & 0xffff || 1, version: sc.image.version, board: BOARD.code, blockSize: sc.image.blockSize };
  if (sc.image.source === "bundle") return imageOf(packImage(BOARD.board, sc.image.version), f);
  return programImage(new TextEncoder().encode(`/*meter v${sc.image.version}*/`.padEnd(sc.image.size - 16, " ")), f);
}

export async function runScenario(sc: Scenario, hooks: RunHooks = {}): Promise<RunResult> {
  const wall0 = performance.now();
  const img = imageFor(sc);
  const rig = new LinkRig(sc.modem, lineFor(sc.modem, sc.seed, { bitRate: sc.bitRate, defaults: lossModel(sc.loss.p, sc.loss.meanBurst) }));
  const clock = rig.clock;
  const events: RunEvent[] = [];
  const note = (s: string, meter?: number, kind?: RunEvent["kind"]) => events.push(meter === undefined ? { t: clock.now() / 1000, text: s } : { t: clock.now() / 1000, text: s, meter, kind });
  const ids = sc.meters.map((m) => m.id);
  const cutsDone = new Set<number>();
  const pendingSwapCut = new Map(sc.cuts.filter((c) => c.during === "swap").map((c) => [c.meter, c]));
  const pendingDownloadCut = new Map(sc.cuts.filter((c) => c.during === "download").map((c) => [c.meter, c]));
  const cutLog = new Map<number, string[]>(ids.map((id) => [id, []]));
  // simulated meters whose boot routine installed the campaign's image
  const installed = new Set<number>();

  // real boards in the loop: the host plays their modem; time runs at wall-clock speed
  const ports = new Map<number, Port>();
  for (const m of sc.meters) if (m.attach) ports.set(m.id, await openPort(m.attach));
  const realTime = ports.size > 0;
  const isSim = (id: number) => !ports.has(id);
  const simIds = ids.filter(isSim);
  for (const [id, port] of ports) {
    bridgeBoard(rig, `m${id}`, port, id);
    const m = sc.meters.find((x) => x.id === id)!;
    if (m.loss !== undefined) rig.line.link("conc", `m${id}`, { loss: m.loss });
  }

  // the head-end's keys: a root key per meter (from the seed, so a run reproduces); the
  // concentrator gets only the link keys
  const keyFile: KeyFile | null = sc.keys ? { format: KEY_FORMAT, meters: Object.fromEntries(simIds.map((id) => [String(id), createHash("sha256").update(`meterline bench ${sc.seed} ${id}`).digest("hex").slice(0, 32)])) } : null;
  const start = (id: number, flash?: MeterNode["flash"]): MeterNode => {
    const m = sc.meters.find((x) => x.id === id)!;
    const node = bootMeter(rig, `m${id}`, id, { board: BOARD.board, version: 1, kind: KIND_CODE[m.kind], flash, key: keyFile?.meters[String(id)] });
    if (m.loss !== undefined) rig.line.link("conc", `m${id}`, { loss: m.loss });
    node.system.onReset = () => { clock.setTimeout(() => restart(id), 0); };
    return node;
  };
  // a restart request: power off, the boot routine, the program again; a swap cut strikes inside the boot routine
  const restart = (id: number) => {
    const node = rig.meters.get(id)!;
    node.powerOff();
    const cut = pendingSwapCut.get(id);
    if (cut) {
      pendingSwapCut.delete(id);
      node.flash.planCut({ op: node.flash.ops + cut.atOperation, mode: "torn", fraction: 0.5 });
      try {
        install(node.flash, hostNative, node.board.regions);
        note(`meter ${id}: the cut at install operation ${cut.atOperation} never came (the copy was shorter)`);
        node.flash.planCut(null);
      } catch (e) {
        if (!(e instanceof PowerCut)) throw e;
        cutsDone.add(id);
        cutLog.get(id)!.push(`swap, op ${cut.atOperation}`);
        note(`meter ${id}: power cut during the swap (install operation ${cut.atOperation}); off for ${cut.offSeconds} s`, id, "cut");
        clock.setTimeout(() => powerOn(id, node.flash), cut.offSeconds * 1000);
        return;
      }
      start(id, node.flash);
      return;
    }
    const r = install(node.flash, hostNative, node.board.regions);
    if (r.copied && r.imageId === img.session.imageId) installed.add(id);
    note(`meter ${id}: restarted; boot routine ${r.copied ? `copied image ${r.imageId}` : "had nothing to copy"}`, id, "restart");
    start(id, node.flash);
  };
  const powerOn = (id: number, flash: MeterNode["flash"]) => {
    flash.reboot();
    const r = install(flash, hostNative, rig.meters.get(id)!.board.regions);
    if (r.copied && r.imageId === img.session.imageId) installed.add(id);
    note(`meter ${id}: power back; boot routine ${r.copied ? `finished the copy of image ${r.imageId} (attempt ${r.attempt})` : "had nothing to copy"}`, id, "power-back");
    start(id, flash);
  };

  for (const id of simIds) start(id);
  let savedCounter = 0;
  const concKeys = keyFile ? (() => {
    const f = concentratorKeyFile(keyFile);
    return { keys: keyFileLookup((o, n) => latin1(f.subarray(o, o + n)), f.length), counter: { load: () => savedCounter, save: (hw: number) => { savedCounter = hw; } } };
  })() : undefined;
  const conc: ConcNode = bootConcentrator(rig, "conc", ids, undefined, { readingMinutes: sc.readings.readingMinutes, profileHours: 6 }, concKeys);
  const out: string[] = [];
  // the operator's files in the concentrator's Storage: the image file (npm run image) and, keyed, the head-end's tags
  const storage: Record<string, string> = { "img.bin": latin1(imageFileOf(img.bytes, BOARD.board, img.session.version, img.session.blockSize)) };
  if (keyFile) {
    storage["img.tags"] = latin1(tagsFile(simIds.map((id) => {
      const root = rootKey(keyFile, id)!;
      // forged: the concentrator has only the link keys, and tries the down key as if it were the authorisation key
      const key = sc.forgedTags ? linkKeys(root).down : root;
      return { id, kind: TAG_INSTALL, tag: tagFor(key, TAG_INSTALL, img.session, id) };
    })));
  }
  const ml = consoleApi(conc.ctx, hostNative, BOARD.code, (n) => storage[n], (l) => out.push(l), { bitRate: rig.line.opts.bitRate, frameOverhead: rig.line.opts.overheadBytes, hostBaud: 57600 });
  clock.advance(3000);
  // the campaign's start (virtual ms), set when it begins: a run that fails before it reports 0
  let c0 = 0;
  const fail = (reason: string): RunResult => finishRun(false, reason);

  // ---- the clock, then a day of pulses and readings
  const airtimeByPhase: Record<string, number> = {};
  let lastAir = 0, stage = "readings";
  const account = () => { const a = rig.line.totals.airtimeMs; airtimeByPhase[stage] = (airtimeByPhase[stage] ?? 0) + a - lastAir; lastAir = a; };
  const clockSetS = clock.now() / 1000;
  if (ml.time(DAY0)) return fail(`the concentrator could not set the clock: ${out[out.length - 1]}`);
  // the broadcast, and for keyed meters the round that follows it, before the day starts
  clock.advance(60_000);
  const dayStart = clock.now();
  const dayMs = sc.readings.hours * 3_600_000;
  const pulses = new Map<number, number>(ids.map((id) => [id, 0]));
  // pulses a meter counted before it had a clock: in its register, in no wall-clock interval
  const preClock = new Map<number, number>(ids.map((id) => [id, 0]));
  for (const m of sc.meters) {
    if (!m.pulsesPerHour || !isSim(m.id)) continue;
    const rng = new Rng(sc.seed * 7919 + m.id);
    const mean = 3_600_000 / m.pulsesPerHour;
    const next = () => {
      const gap = 200 + -Math.log(1 - rng.next()) * Math.max(1, mean - 200);
      clock.setTimeout(() => {
        if (clock.now() >= dayStart + dayMs) return;
        const node = rig.meters.get(m.id)!;
        const before = node.pulse.accepted;
        node.pulse.edge(clock.now());
        if (node.pulse.accepted > before) {
          pulses.set(m.id, pulses.get(m.id)! + 1);
          if (!node.meter.metering.wallTime()) preClock.set(m.id, preClock.get(m.id)! + 1);
        }
        next();
      }, gap);
    };
    next();
  }
  let rounds = 0, collected = 0, missed = 0;
  // virtual time, or with real boards attached, virtual time held to the wall clock in 10 ms slices
  const wall0rt = performance.now() - clock.now();
  const step = async (ms: number) => {
    if (!realTime) { clock.advance(ms); account(); return; }
    const end = clock.now() + ms;
    while (clock.now() < end) {
      const slice = Math.min(10, end - clock.now());
      const wait = wall0rt + clock.now() + slice - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      clock.advance(slice);
    }
    account();
  };
  const roundNow = async (what: number, only?: number): Promise<[number, number] | null> => {
    let res: [number, number] | null = null;
    const until = clock.now() + 3_600_000;
    while (conc.ctx.collect((c, x) => { res = [c, x]; }, only === undefined ? undefined : conc.ctx.registry.find(only) >= 0 ? only : undefined, what) && clock.now() < until) await step(1000);
    while (!res && clock.now() < until) await step(200);
    return res;
  };
  // the concentrator's own rounds run every readingMinutes; count them from its registry
  for (let t = 0; t < dayMs; t += 60_000) {
    await step(60_000);
    hooks.progress?.("readings", (t + 60_000) / Math.max(1, dayMs), `${Math.floor((t + 60_000) / 3_600_000)} h of ${sc.readings.hours} h`);
  }
  // past the end of the last interval, then the registers and the profile of every meter
  if (dayMs) await step(16 * 60_000);
  const reg = conc.ctx.registry;
  for (const id of ids) { const s = reg.stats(reg.find(id)); rounds += s.ok + s.fail; collected += s.ok; missed += s.fail; }
  const lastRegister = (id: number, from = 0): number => {
    let v = -1;
    for (const l of conc.lines.slice(from)) { const f = l.split(","); if (+f[0] === id && !f[1].includes(".29.")) v = +f[2]; }
    return v;
  };
  // profile intervals on the wall clock (those a meter closed before it had a clock carry status bit 32 and uptime times)
  const intervals = (id: number) => conc.lines.map((l) => l.split(",")).filter((f) => +f[0] === id && f[1].includes(".29.") && !(+f[6] & Iv.CLOCK_NOT_SET)).map((f) => ({ v: +f[2], t: +f[5] }));
  const intervalsPerMeter = Math.floor(dayMs / 900_000) - 1;
  // a round of every meter, then single-meter rounds for those still lacking, a few times
  const readAll = async (what: number) => {
    const from = conc.lines.length;
    const lacking = (id: number) => (what === 1 ? lastRegister(id, from) < 0 : intervals(id).length < intervalsPerMeter);
    if (!(await roundNow(what))) note(`a ${what === 1 ? "register" : "profile"} round did not end`);
    for (let attempt = 0; attempt < 4; attempt++) for (const id of ids.filter(lacking)) await roundNow(what, id);
  };
  await readAll(1);
  if (dayMs) await readAll(2);
  const registerBefore = new Map(ids.map((id) => [id, lastRegister(id)]));

  // ---- the campaign
  stage = "control";
  // the coded method plans for the line's loss, as an operator who knows the line would set it
  const e = ml.update("img.bin", { imageId: img.session.imageId, deadlineS: sc.deadlineMinutes * 60, maxRounds: 40, tags: keyFile ? "img.tags" : undefined, method: sc.method, loss: Math.min(0.5, sc.loss.p) });
  if (e) return fail(`the campaign did not start: ${out[out.length - 1]}`);
  note(out[out.length - 1]);
  const camp = conc.ctx.campaign()!;
  c0 = clock.now();
  const timeline: Sample[] = [];
  let ended = "";
  const K = img.session.blockCount;
  const sample = (waiting?: Sample["waiting"]) => {
    let held = 0, complete = 0;
    const each: number[] = [];
    ids.forEach((id, i) => {
      const n = isSim(id) ? rig.meters.get(id) : undefined;
      const st = camp.state(i);
      const done = st >= Ms.COMPLETE && st !== Ms.FAILED;
      if (done) complete++;
      let h = -1;
      if (n && !n.clock.dead) h = n.meter.receiver.session()?.imageId === img.session.imageId ? Math.min(n.meter.receiver.received(), K) : installed.has(id) ? K : 0;
      else if (!n && done) h = K;
      if (h > 0) held += h;
      each.push(h);
    });
    const s: Sample = { t: (clock.now() - c0) / 1000, phase: PHASE_NAMES[camp.phase()], blocksHeld: held, complete, airtimeMs: rig.line.totals.airtimeMs, held: each };
    if (waiting) s.waiting = waiting;
    timeline.push(s);
  };
  // what the concentrator hears in each round: the campaign's own messages, tapped on their way in
  const heardRounds: RoundHeard[] = [];
  const heard = camp.onMessage;
  camp.onMessage = (m: Msg) => {
    const took = heard(m);
    if (took && (m.type === T.STATUS_REPORT || m.type === T.DEFICIT || m.type === T.DOWNLOAD_COMPLETE) && m.body.imageId === img.session.imageId) {
      const k = camp.totals.rounds;
      let r = heardRounds[heardRounds.length - 1];
      if (!r || r.round !== k) heardRounds.push(r = { round: k, t: (clock.now() - c0) / 1000, missing: new Array<number>(K).fill(0), need: {} });
      if (m.type === T.DOWNLOAD_COMPLETE) r.need[m.src] = 0;
      else if (m.type === T.DEFICIT) r.need[m.src] = m.body.needed;
      else if (!forEachMissing(m.body as MissingReport, K, (b) => { r.missing[b]++; })) r.need[m.src] = K - m.body.received;
    }
    return took;
  };
  sample();
  let lastSample = clock.now(), lastPhase = camp.phase();
  const until = c0 + sc.deadlineMinutes * 60_000 + 600_000;
  while (!ended && clock.now() < until) {
    stage = PHASE_NAMES[camp.phase()];
    try {
      await step(100);
    } catch (err) {
      if (!(err instanceof PowerCut)) throw err;
      const victim = simIds.find((id) => rig.meters.get(id)!.flash.powerLost);
      if (victim === undefined) throw err;
      const node = rig.meters.get(victim)!;
      node.powerOff();
      const cut = sc.cuts.find((c) => c.meter === victim && c.during === "download")!;
      cutsDone.add(victim);
      cutLog.get(victim)!.push(`download, ${node.meter.receiver.received()} of ${img.session.blockCount} blocks`);
      note(`meter ${victim}: power cut in the middle of a flash write during the download (${node.meter.receiver.received()} of ${img.session.blockCount} blocks stored); off for ${cut.offSeconds} s`, victim, "cut");
      clock.setTimeout(() => powerOn(victim, node.flash), cut.offSeconds * 1000);
    }
    for (const [id, cut] of pendingDownloadCut) {
      const n = rig.meters.get(id)!;
      if (n.meter.receiver.received() >= cut.atFraction * img.session.blockCount) {
        pendingDownloadCut.delete(id);
        n.flash.planCut({ op: n.flash.ops, mode: "torn", fraction: 0.5 });
      }
    }
    const now = camp.phase();
    if (now !== lastPhase) {
      // leaving the read-back: who it did not find activated, and so why the campaign goes on
      const waiting = lastPhase === Ph.READBACK ? ids.flatMap((id, i) => camp.state(i) === Ms.ACTIVATED ? [] : [{ id, state: STATE_NAMES[camp.state(i)] ?? String(camp.state(i)) }]) : undefined;
      lastPhase = now;
      lastSample = clock.now();
      sample(waiting);
    } else if (clock.now() - lastSample >= 5000) {
      lastSample = clock.now();
      sample();
      const t = timeline[timeline.length - 1];
      hooks.progress?.(t.phase, t.blocksHeld / (ids.length * img.session.blockCount), `round ${camp.totals.rounds}, ${t.complete}/${ids.length} meters complete`);
    }
    const ph = camp.phase();
    if (ph === Ph.DONE || ph === Ph.ABORTED) ended = out.find((l) => l.startsWith(`meterline: campaign ${img.session.imageId} ended`)) ?? `ended in phase ${PHASE_NAMES[ph]}`;
  }
  stage = PHASE_NAMES[camp.phase()];
  account();
  sample();
  note(ended || "the campaign did not end");
  const campaignMs = clock.now() - c0;
  // the new programs confirm on their first good exchange; then the registers again
  stage = "readings";
  await step(10_000);
  const fromAfter = conc.lines.length;
  await readAll(1);
  account();

  const meters: MeterSummary[] = ids.map((id, i) => {
    const ints = intervals(id);
    let after = -1;
    for (const l of conc.lines.slice(fromAfter)) { const f = l.split(","); if (+f[0] === id && !f[1].includes(".29.")) after = +f[2]; }
    const state = STATE_NAMES[camp.state(i)] ?? String(camp.state(i));
    if (!isSim(id)) {
      // a real board: what it told the concentrator (its read-back result), no pulse count of ours
      return {
        id, kind: sc.meters[i].kind, version: state === "activated" ? img.session.version : 0, confirmed: state === "activated", campaignState: state, code: camp.codeOf(i),
        pulses: -1, preClock: 0, register: registerBefore.get(id)!, registerAfter: after, intervals: ints.length, intervalSum: ints.reduce((a, x) => a + x.v, 0),
        cuts: [], board: sc.meters[i].attach,
      };
    }
    const n = rig.meters.get(id)!;
    return {
      id, kind: sc.meters[i].kind,
      version: decodeAppHeader(n.flash.read(n.board.regions.app!.addr, APP_HEADER_SIZE), n.board.regions.app!.size)?.version ?? 0,
      confirmed: !n.clock.dead && !n.meter.onTrial(), campaignState: STATE_NAMES[camp.state(i)] ?? String(camp.state(i)), code: camp.codeOf(i),
      pulses: pulses.get(id)!, preClock: preClock.get(id)!, register: registerBefore.get(id)!, registerAfter: after,
      intervals: ints.length, intervalSum: ints.reduce((a, x) => a + x.v, 0), cuts: cutLog.get(id)!,
    };
  });

  function finishRun(ok: boolean, reason: string, extra?: Partial<RunResult>): RunResult {
    for (const p of ports.values()) p.close();
    return {
      ok, reason, scenario: sc,
      image: { size: img.session.size, blocks: img.session.blockCount, version: img.session.version, source: sc.image.source },
      meters: [], campaign: { code: -1, rounds: 0, polls: 0, blocks: 0, frames: 0, bytes: 0, virtualMs: 0 },
      readings: { rounds, collected, missed, lines: conc.lines.length },
      line: { ...rig.line.totals }, airtimeByPhase, timeline: [], events, rounds: [], meterReadings: [], clockSetS: 3,
      campaignStartS: c0 / 1000, wallMs: performance.now() - wall0, ...extra,
    };
  }

  // ---- the verdict
  const problems: string[] = [];
  const t = camp.totals;
  if (camp.code()) problems.push(`${ended} (${describeErr(camp.code())})`);
  else if (!ended) problems.push(`the campaign did not end within ${sc.deadlineMinutes} minutes of virtual time`);
  const notDone = meters.filter((m) => m.campaignState !== "activated");
  if (notDone.length) problems.push(`${notDone.length} of ${ids.length} meters not updated: ${notUpdated(notDone)}`);
  const wrong = meters.filter((m) => m.version !== img.session.version || !m.confirmed);
  if (wrong.length && !notDone.length) problems.push(`meters not running v${img.session.version} confirmed: ${wrong.map((m) => `${m.id} v${m.version}${m.confirmed ? "" : " unconfirmed"}`).join(", ")}`);
  for (const m of meters) {
    if (m.pulses < 0) {
      if (m.register < 0 || m.registerAfter < m.register) problems.push(`board ${m.id} (${m.board}): register ${m.register} before the update, ${m.registerAfter} after`);
      continue;
    }
    problems.push(...registerProblems(m.id, m.pulses, m.register, m.registerAfter));
    const ts = intervals(m.id).map((x) => x.t).sort((a, b) => a - b);
    const gap = ts.findIndex((t, k) => k > 0 && t - ts[k - 1] !== 900);
    if (gap > 0) problems.push(`meter ${m.id}: no profile interval between ${ts[gap - 1]} and ${ts[gap]}`);
    if (m.intervals && ts[ts.length - 1] < DAY0 + sc.readings.hours * 3600 - 900) problems.push(`meter ${m.id}: the last profile interval collected starts at ${ts[ts.length - 1]}, before the day's end`);
    if (m.intervalSum !== m.pulses - m.preClock || (!m.intervals && m.pulses > m.preClock)) problems.push(`meter ${m.id}: ${m.intervals} profile intervals summing to ${m.intervalSum}, expected a sum of ${m.pulses - m.preClock} (${m.pulses} pulses, ${m.preClock} before its clock was set)`);
  }
  for (const c of sc.cuts) if (!cutsDone.has(c.meter)) problems.push(`the ${c.during} cut of meter ${c.meter} never happened`);
  return finishRun(problems.length === 0, problems.join("; "), {
    meters,
    campaign: { code: camp.code(), rounds: t.rounds, polls: t.polls, blocks: t.blocks, frames: t.frames, bytes: t.bytes, virtualMs: campaignMs },
    timeline, rounds: heardRounds, meterReadings: meterReadings(conc.lines, ids), clockSetS,
  });
}

/** Each meter's registers and wall-clock profile intervals from the concentrator's readings lines (id,obis,value,unit,scaler,time,status). */
export function meterReadings(lines: string[], ids: number[]): MeterReadings[] {
  const by = new Map<number, MeterReadings>(ids.map((id) => [id, { id, unit: "", scaler: 0, registers: [], intervals: [] }]));
  for (const l of lines) {
    const f = l.split(",");
    const m = by.get(+f[0]);
    if (!m || f.length !== 7) continue;
    const profile = f[1].includes(".29.");
    if (profile && +f[6] & Iv.CLOCK_NOT_SET) continue;
    m.unit = UNIT_NAMES[+f[3]] ?? `unit${f[3]}`;
    m.scaler = +f[4];
    (profile ? m.intervals : m.registers).push([+f[5], +f[2]]);
  }
  for (const m of by.values()) { m.registers.sort((a, b) => a[0] - b[0]); m.intervals.sort((a, b) => a[0] - b[0]); }
  return [...by.values()];
}
