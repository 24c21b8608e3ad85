/*
 * Runs a scenario on the virtual bench: one concentrator and the scenario's meters, all
 * the real firmware modules on mocked hardware, on the simulated power line, in virtual
 * time. A day of readings, then a campaign from the installed program to the image, with
 * the scenario's power cuts; then the checks that decide the exit code. Host code. The parts:
 * run-faults.ts (restarts and power cuts), run-load.ts (pulses, reading rounds, the readings
 * lines), run-campaign.ts (the campaign followed to its end), run-verdict.ts (the checks); this
 * file sets them up and runs them in order.
 */
import { hostNative, latin1 } from "../hal/host/native";
import type { LinkModel } from "../hal/mock/powerline";
import { consoleApi } from "../firmware/concentrator/console";
import { UNITS } from "../firmware/concentrator/readings";
import { imageFileOf, packedImage, packImage } from "../tools/image/image";
import { loadProfile } from "../tools/profiles/profiles";
import { LinkRig, bootConcentrator, bootMeter, lineFor, type ConcNode } from "./rig";
import { imageOf, programImage, type Image } from "./image";
import { KIND_CODE, OUR_ID, type Scenario } from "./scenario";
import { Faults } from "./run-faults";
import { followCampaign } from "./run-campaign";
import { isTotalRegister, lastRegister, readingLine, readingRounds, roundNow, startPulses, wallIntervals } from "./run-load";
import { DAY0, NEIGHBOUR_AHEAD_S, neighbourProblems, verdict, type NeighbourOutcome } from "./run-verdict";
import { bridgeBoard, openPort, type Port } from "./hil";
import { createHash } from "node:crypto";
import { authorisationFor, blockKeyFor, concentratorKeyFile, KEY_FORMAT, linkKeys, rootKey, tagsFile, type KeyFile } from "../tools/keys/keyfile";
import { keyFile as keyFileLookup } from "../firmware/concentrator/keystore";
import { TAG_INSTALL } from "../firmware/common/hmac";
import { STATE_NAMES } from "../firmware/concentrator/campaign";
import { decodeAppHeader } from "../firmware/common/image";
import { APP_HEADER_SIZE } from "../firmware/common/layout";
import { Iv } from "../firmware/meter/metering";
import { Ev, Rd } from "../firmware/protocol/catalogue";
import { EVENT_OBIS } from "../firmware/concentrator/readings";

export { DAY0, notUpdated, registerProblems } from "./run-verdict";

/**
 * The campaign's state at time t (s from its start): taken every 5 s of virtual time and
 * whenever the phase changes. `held`: the blocks each meter holds, in the scenario's meter
 * order: a simulated meter's own count (all of them once its boot routine installed the
 * image), -1 while it is off; a real board holds all once the campaign counts it complete,
 * else -1 (the bench cannot see into it). `blocksHeld`: their sum; `complete`: the meters that
 * hold the whole image (as their lanes show; one that is off, by what it held when it went
 * off), not the campaign's states: coded, it takes a meter not heard unfinished as activating
 * until its read-back says otherwise. `waiting`: on leaving the read-back, the meters it did not find
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

export interface MeterSummary {
  id: number; kind: string; version: number; confirmed: boolean; campaignState: string; code: number;
  /** With the scenario's tariff, an electricity meter's rate registers 1 to 4 (Wh) read at the end (BILLING). */
  rates?: number[];
  /** A readings-day outage: what it cost (pulses) and the POWER_UP events' outage durations (s). */
  outage?: { register: number; profile: number; offSeconds: number; powerUps: number[] };
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
  image: { size: number; blocks: number; version: number; source: string; compressed?: boolean };
  meters: MeterSummary[];
  campaign: { code: number; rounds: number; polls: number; blocks: number; frames: number; bytes: number; virtualMs: number };
  /** `lines`: the readings lines the bench drained from the concentrator's store (as its head-end). */
  readings: { rounds: number; collected: number; missed: number; lines: number };
  line: { frames: number; bytes: number; airtimeMs: number };
  airtimeByPhase: Record<string, number>;
  timeline: Sample[];
  /**
   * What happened, at virtual time t (s since the run began): power cuts, restarts, the
   * campaign's start and end... `meter` and `kind` for what happened to one meter.
   */
  events: RunEvent[];
  /** What the concentrator asked and heard in the activate and read-back phases. */
  talk: Talk[];
  /** The campaign's rounds, as the concentrator heard them (the report's heat map). */
  rounds: RoundHeard[];
  /** Every meter's readings (the report's readings and load-profile plots). */
  meterReadings: MeterReadings[];
  /** When the concentrator set the clock to DAY0 (s since the run began). */
  clockSetS: number;
  /** When the campaign began (s since the run began): the progress chart's time 0. */
  campaignStartS: number;
  /** The neighbouring concentrator's meters as the run left them, and the readings lines its store gave. */
  neighbour?: { id: number; meters: NeighbourOutcome[]; lines: number };
  wallMs: number;
}

/**
 * One thing the concentrator asked, or an answer it took, in the activate and read-back
 * phases (the report's notes on a stripe that lasted longer than its pass and wait): `t` s
 * from the campaign's start; `meter` the meter asked or answering, 0 for a broadcast (`ids`:
 * the meters a RESULT_LIST named); `what` the message (ACTIVATE, STATUS_QUERY, RESULT_LIST),
 * or the answer (ACK, E86 UPDATE_NOT_VERIFIED: ..., UPDATE_RESULT running v2, STATUS_REPORT
 * 89 of 170 blocks, DOWNLOAD_COMPLETE, DEFICIT 12).
 */
export interface Talk { t: number; phase: string; asked: boolean; meter: number; what: string; ids?: number[] }

export interface RunEvent { t: number; text: string; meter?: number; kind?: "cut" | "power-back" | "restart" }

export interface RunHooks {
  /** Called about every virtual minute: what runs and how far it got (0..1). */
  progress?(stage: string, fraction: number, detail: string): void;
}

/** The line's loss model: average loss p in bursts of mean length `meanBurst` (Gilbert-Elliott), or independent. */
export function lossModel(p: number, meanBurst: number): LinkModel {
  if (p <= 0) return {};
  if (p >= 1 || meanBurst <= 1) return { loss: p };
  const toGood = 1 / meanBurst;
  return { ge: { pGoodToBad: (p * toGood) / (1 - p), pBadToGood: toGood, lossGood: 0, lossBad: 1 } };
}

/** Every simulated node is a LINUX board. */
const BOARD = loadProfile("LINUX");

function imageFor(sc: Scenario): Image {
  const f = { imageId: sc.image.version & 0xffff || 1, version: sc.image.version, board: BOARD.code, blockSize: sc.image.blockSize };
  const plain = sc.image.source === "bundle" ? imageOf(packImage(BOARD.board, sc.image.version), f) : programImage(new TextEncoder().encode(`/*meter v${sc.image.version}*/`.padEnd(sc.image.size - 16, " ")), f);
  // packed: what travels is the packed payload; the meters' boot routines unpack it
  return sc.image.compress ? imageOf(packedImage(plain.bytes, BOARD.board, sc.image.version, sc.image.blockSize), f) : plain;
}

export async function runScenario(sc: Scenario, hooks: RunHooks = {}): Promise<RunResult> {
  const wall0 = performance.now();
  const img = imageFor(sc);
  const rig = new LinkRig(sc.modem, lineFor(sc.modem, sc.seed, { bitRate: sc.bitRate, defaults: lossModel(sc.loss.p, sc.loss.meanBurst) }));
  const clock = rig.clock;
  const events: RunEvent[] = [];
  const note = (s: string, meter?: number, kind?: RunEvent["kind"]) => events.push(meter === undefined ? { t: clock.now() / 1000, text: s } : { t: clock.now() / 1000, text: s, meter, kind });
  const ids = sc.meters.map((m) => m.id);
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
  const keyFile: KeyFile | null = sc.keys ? { format: KEY_FORMAT, head: createHash("sha256").update(`meterline bench ${sc.seed} head`).digest("hex").slice(0, 32), meters: Object.fromEntries(simIds.map((id) => [String(id), createHash("sha256").update(`meterline bench ${sc.seed} ${id}`).digest("hex").slice(0, 32)])) } : null;
  const faults = new Faults({ rig, sc, img, board: BOARD, keyOf: (id) => keyFile?.meters[String(id)], note });
  for (const id of simIds) faults.start(id);
  let savedCounter = 0;
  const concKeys = keyFile ? (() => {
    const f = concentratorKeyFile(keyFile);
    return { keys: keyFileLookup((o, n) => latin1(f.subarray(o, o + n)), f.length), counter: { load: () => savedCounter, save: (hw: number) => { savedCounter = hw; } } };
  })() : undefined;
  const conc: ConcNode = bootConcentrator(rig, "conc", ids, undefined, { id: OUR_ID, readingMinutes: sc.readings.readingMinutes, profileHours: 6 }, concKeys);
  // the neighbouring concentrator and its meters (unkeyed): it reaches its meters and ours, ours
  // reaches only our meters (the lines overlap where our meters are)
  const nb = sc.neighbour;
  const nIds = nb ? nb.meters.map((m) => m.id) : [];
  const conc2: ConcNode | null = nb ? bootConcentrator(rig, "conc2", [], undefined, { id: nb.id, readingMinutes: sc.readings.readingMinutes, profileHours: 6 }) : null;
  for (const m of nb?.meters ?? []) bootMeter(rig, `m${m.id}`, m.id, { board: BOARD.board, version: 1, kind: KIND_CODE[m.kind] });
  if (conc2) for (const id of nIds) rig.line.link("conc", `m${id}`, { loss: 1 });
  const out2: string[] = [];
  const ml2 = conc2 ? consoleApi(conc2.ctx, hostNative, BOARD.code, () => undefined, (l) => out2.push(l)) : null;
  const out: string[] = [];
  // the operator's files in the concentrator's Storage: the image file (npm run image) and, keyed, the head-end's tags
  const storage: Record<string, string> = { "img.bin": latin1(imageFileOf(img.bytes, BOARD.board, img.session.version, img.session.blockSize)) };
  if (keyFile) {
    const blockKey = blockKeyFor(keyFile, img.session.digest);
    storage["img.tags"] = latin1(tagsFile(blockKey, img.session.digest, simIds.map((id) => {
      const root = rootKey(keyFile, id)!;
      // forged: the concentrator has only the link keys, and tries the down key as if it were the authorisation key
      return authorisationFor(sc.forgedTags ? linkKeys(root).down : root, TAG_INSTALL, img.session, id, blockKey);
    })));
  }
  const ml = consoleApi(conc.ctx, hostNative, BOARD.code, (n) => storage[n], (l) => out.push(l), { bitRate: rig.line.opts.bitRate, frameOverhead: rig.line.opts.overheadBytes, hostBaud: 57600 });
  // the head-end's part, as npm run headend plays it: the readings from its position on, then
  // an acknowledgement, so the concentrator's bounded store (which refuses new readings while
  // full of unacknowledged ones) never fills; the checks read what was drained
  const drainer = (c: ConcNode) => {
    const got: string[] = [];
    let to = c.ctx.store.start();
    const drain = () => {
      const st = c.ctx.store;
      if (st.end() <= to) return;
      const had = got.length;
      to = st.since(to, 100_000, (l) => { got.push(l); });
      if (got.length > had) st.ack(to);
    };
    return { lines: got, drain };
  };
  const ours = drainer(conc), theirs = conc2 ? drainer(conc2) : null;
  const lines = ours.lines, lines2 = theirs ? theirs.lines : [];
  const drain = () => { ours.drain(); theirs?.drain(); };
  clock.advance(3000);
  // the campaign's start (virtual ms), set when it begins: a run that fails before it reports 0
  let c0 = 0;
  // the day's reading rounds (counted from the registry after it; a run that fails before reports 0)
  let rounds = 0, collected = 0, missed = 0;
  const fail = (reason: string): RunResult => finishRun(false, reason);

  // ---- the clock, then a day of pulses and readings
  const airtimeByPhase: Record<string, number> = {};
  let lastAir = 0, stage = "readings";
  const account = () => { const a = rig.line.totals.airtimeMs; airtimeByPhase[stage] = (airtimeByPhase[stage] ?? 0) + a - lastAir; lastAir = a; };
  // each concentrator takes its meters (discovery claims the meters that have none): ours first,
  // so the neighbour then hears our meters answer as ours, and leaves them alone
  // (again while one of its meters has not joined, up to 8 times, as an operator would: a loss
  // burst can take a reply or a claim's three tries; seen: six frames in a row lost to one meter)
  // (joined: the meter took the concentrator, and the concentrator registered it: a claim whose
  // acknowledgements were all lost leaves a meter that took it unregistered until the next
  // discovery, which registers it as its own)
  const homeless = (list: number[], home: number) => list.filter((id) => rig.meters.get(id)!.meter.metering.settings.home !== home || (home === OUR_ID ? conc : conc2!).ctx.registry.find(id) < 0);
  for (const [c, o, who, list, home] of [[ml, out, "the concentrator", simIds, OUR_ID], [ml2, out2, "the neighbouring concentrator", nIds, nb?.id ?? 0]] as const) {
    if (!c) continue;
    for (let attempt = 0; attempt < 8 && homeless(list, home).length; attempt++) {
      const from = o.length, until = clock.now() + 600_000;
      if (c.discover(8, 300)) return fail(`${who} could not discover: ${o[o.length - 1]}`);
      while (!o.slice(from).some((l) => l.startsWith("meterline: discovery found")) && clock.now() < until) clock.advance(1000);
      note(o.slice(from).find((l) => l.startsWith("meterline: discovery found"))?.replace("meterline: ", `${who}'s `) ?? `${who}'s discovery did not end`);
    }
    // (with a neighbour a meter that did not join would take its frames too: the run cannot
    // prove it keeps them apart; alone, such a meter simply hears every concentrator, and the
    // campaign and the checks say what became of it)
    if (homeless(list, home).length) {
      if (nb) return fail(`meters that did not join ${who} after 8 discoveries: ${homeless(list, home).join(", ")}`);
      note(`meters that did not join ${who}: ${homeless(list, home).join(", ")}`);
    }
  }
  const clockSetS = clock.now() / 1000;
  if (ml.time(DAY0)) return fail(`the concentrator could not set the clock: ${out[out.length - 1]}`);
  // (the neighbour's clock an hour ahead: a meter of ours that took its TIME_SET broadcast would be found out)
  if (ml2 && ml2.time(DAY0 + NEIGHBOUR_AHEAD_S)) return fail(`the neighbouring concentrator could not set the clock: ${out2[out2.length - 1]}`);
  // the broadcast, and for keyed meters the round that follows it, before the day starts
  clock.advance(60_000);
  // a meter the line kept from its clock (the broadcast, or the round's three tries) is read on its
  // own, which gives it the time, as an operator would (read(id)) before counting on its profile
  for (const [c, list] of [[conc, simIds], [conc2, nIds]] as const) {
    for (let attempt = 0; c && attempt < 4; attempt++) {
      const noClock = list.filter((id) => !rig.meters.get(id)!.meter.metering.wallTime());
      for (const id of noClock) {
        await roundNow(c, rig, async (ms) => { clock.advance(ms); }, Rd.REGISTERS, id, 60_000);
        clock.advance(2000);
      }
    }
  }
  // the scenario's tariff on every simulated electricity meter, from the console as an operator sets it
  if (sc.tariff) {
    for (const m of sc.meters.filter((x) => x.kind === "electricity" && isSim(x.id))) {
      for (const [what, call] of [["zone", () => ml.zone(m.id, sc.tariff!.zoneMinutes, sc.tariff!.dst)], ["tariff", () => ml.tariff(m.id, sc.tariff!.weekdays, sc.tariff!.weekend)]] as const) {
        // (given again a minute later when it went unanswered, as an operator would: a loss
        // burst, or the neighbour's traffic, can take a request's three tries; a refusal is final)
        let said: string | undefined;
        for (let attempt = 0; attempt < 4 && (!said || said.endsWith("(E94)")); attempt++) {
          if (attempt) clock.advance(60_000);
          const from = out.length, until = clock.now() + 30_000;
          if (call()) return fail(`meter ${m.id}: the console refused ${what}(): ${out[out.length - 1]}`);
          const answer = () => out.slice(from).find((l) => l.startsWith(`meterline: meter ${m.id}: `));
          while (!answer() && clock.now() < until) clock.advance(100);
          said = answer();
        }
        if (!said || said.includes("refused")) return fail(`meter ${m.id}: ${what}() ${said ?? "not answered within 30 s"}`);
      }
    }
  }
  const dayStart = clock.now();
  const dayMs = sc.readings.hours * 3_600_000;
  const { pulses, preClock, inInterval } = startPulses(rig, sc, isSim, dayStart, dayMs);
  // the day's outages
  for (const cut of sc.cuts.filter((c) => c.during === "readings")) clock.setTimeout(() => faults.outage(cut, inInterval(cut.meter)), dayStart + cut.atHour * 3_600_000 - clock.now());
  // virtual time, or with real boards attached, virtual time held to the wall clock in 10 ms slices
  const wall0rt = performance.now() - clock.now();
  const step = async (ms: number) => {
    if (!realTime) { clock.advance(ms); account(); drain(); return; }
    const end = clock.now() + ms;
    while (clock.now() < end) {
      const slice = Math.min(10, end - clock.now());
      const wait = wall0rt + clock.now() + slice - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      clock.advance(slice);
    }
    account();
    drain();
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
  const intervals = (id: number) => wallIntervals(lines, id);
  const readAll = readingRounds(conc, rig, lines, ids, Math.floor(dayMs / 900_000) - 1, step, note, dayMs ? DAY0 + sc.readings.hours * 3600 - 900 : undefined);
  await readAll(1);
  if (dayMs) await readAll(2);
  const registerBefore = new Map(ids.map((id) => [id, lastRegister(lines, id)]));

  // ---- the campaign (run-campaign.ts)
  const run = await followCampaign({
    sc, img, rig, conc, ml, out, ids, simIds, isSim, faults, keyed: !!keyFile, step,
    stage: (s) => { account(); stage = s; }, note: (s) => note(s), progress: hooks.progress,
  });
  if (typeof run === "string") return fail(run);
  const { camp, ended, timeline, rounds: heardRounds, campaignMs, talk } = run;
  c0 = run.c0;
  account();
  // the new programs confirm on their first good exchange; then the registers again
  stage = "readings";
  await step(10_000);
  const fromAfter = lines.length;
  await readAll(1);
  // with a tariff: the billing registers of every electricity meter, each asked until it answers
  const rates = new Map<number, number[]>();
  if (sc.tariff) {
    const fromBilling = lines.length;
    for (const m of sc.meters.filter((x) => x.kind === "electricity" && isSim(x.id))) {
      // (asked again after a pause: the line loses frames in bursts, and a burst can swallow a
      // whole round's three tries in both directions: seen in the patent run, 12 frames in a row)
      for (let attempt = 0; attempt < 8 && !rates.has(m.id); attempt++) {
        if (attempt) await step(60_000);
        await roundNow(conc, rig, step, Rd.BILLING, m.id, 600_000);
        const got = [1, 2, 3, 4].map((k) => { let v = -1; for (const l of lines.slice(fromBilling)) { const r = readingLine(l); if (r && r.id === m.id && r.obis === `1-0:1.8.${k}`) v = r.value; } return v; });
        if (got.every((v) => v >= 0)) rates.set(m.id, got);
      }
    }
  }
  // the neighbour's last register of each of its meters
  if (conc2) await readingRounds(conc2, rig, lines2, nIds, 0, step, note)(Rd.REGISTERS);
  account();

  const powerUps = (id: number) => lines.map(readingLine).filter((r) => r && r.id === id && r.obis === EVENT_OBIS && r.value === Ev.POWER_UP).map((r) => r!.status);
  const meters: MeterSummary[] = ids.map((id, i) => {
    const ints = intervals(id);
    const after = lastRegister(lines, id, fromAfter);
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
      intervals: ints.length, intervalSum: ints.reduce((a, x) => a + x.v, 0), cuts: faults.cutLog.get(id)!,
      ...(sc.tariff && sc.meters[i].kind === "electricity" ? { rates: rates.get(id) ?? [] } : {}),
      ...(faults.outages.has(id) ? { outage: { ...faults.outages.get(id)!, powerUps: powerUps(id) } } : {}),
    };
  });
  const neighbourMeters: NeighbourOutcome[] = nIds.map((id) => {
    const n = rig.meters.get(id)!, s = n.meter.receiver.session();
    return {
      id, home: n.meter.metering.settings.home, session: s ? s.imageId : 0, pulses: pulses.get(id)!, register: lastRegister(lines2, id),
      version: decodeAppHeader(n.flash.read(n.board.regions.app!.addr, APP_HEADER_SIZE), n.board.regions.app!.size)?.version ?? 0,
      inOurRegistry: conc.ctx.registry.find(id) >= 0, inOurStore: lines.filter((l) => readingLine(l)?.id === id).length,
    };
  });

  function finishRun(ok: boolean, reason: string, extra?: Partial<RunResult>): RunResult {
    for (const p of ports.values()) p.close();
    drain();
    return {
      ok, reason, scenario: sc,
      image: { size: img.session.size, blocks: img.session.blockCount, version: img.session.version, source: sc.image.source, compressed: sc.image.compress },
      meters: [], campaign: { code: -1, rounds: 0, polls: 0, blocks: 0, frames: 0, bytes: 0, virtualMs: 0 },
      readings: { rounds, collected, missed, lines: lines.length },
      line: { ...rig.line.totals }, airtimeByPhase, timeline: [], talk: [], events, rounds: [], meterReadings: [], clockSetS: 3,
      campaignStartS: c0 / 1000, wallMs: performance.now() - wall0, ...extra,
    };
  }

  // ---- the verdict
  const t = camp.totals;
  const problems = verdict(sc, img.session.version, ended, camp.code(), meters, (id) => intervals(id).map((x) => x.t), faults.missed());
  if (nb) {
    problems.push(...neighbourProblems(nb.id, neighbourMeters, lines2.filter((l) => ids.includes(readingLine(l)?.id ?? -1)).length));
    // our meters heard the neighbour's broadcasts (its clock an hour ahead) and kept ours
    for (const id of simIds) {
      // (a meter that restarted last, and whose clock no round has given it again, has none: nothing to compare)
      const w = rig.meters.get(id)!.meter.metering.wallTime(), off = w - conc.ctx.now();
      if (w && Math.abs(off) > 60) problems.push(`meter ${id}: its clock is ${off} s off ours${Math.abs(off - NEIGHBOUR_AHEAD_S) <= 60 ? ": it took the neighbour's time" : ""}`);
    }
  }
  return finishRun(problems.length === 0, problems.join("; "), {
    meters,
    campaign: { code: camp.code(), rounds: t.rounds, polls: t.polls, blocks: t.blocks, frames: t.frames, bytes: t.bytes, virtualMs: campaignMs },
    timeline, talk, rounds: heardRounds, meterReadings: meterReadings(lines, ids), clockSetS,
    ...(nb ? { neighbour: { id: nb.id, meters: neighbourMeters, lines: lines2.length } } : {}),
  });
}

/** Each meter's registers and wall-clock profile intervals from the concentrator's readings lines (id,obis,value,unit,scaler,time,status). */
export function meterReadings(lines: string[], ids: number[]): MeterReadings[] {
  const by = new Map<number, MeterReadings>(ids.map((id) => [id, { id, unit: "", scaler: 0, registers: [], intervals: [] }]));
  for (const l of lines) {
    const r = readingLine(l);
    const m = r && by.get(r.id);
    if (!r || !m) continue;
    if (r.profile && r.status & Iv.CLOCK_NOT_SET) continue;
    // the register's series: its total only (events and billing registers are lines of their own)
    if (!r.profile && !isTotalRegister(r.obis)) continue;
    m.unit = UNITS[r.unit] ?? `unit${r.unit}`;
    m.scaler = r.scaler;
    (r.profile ? m.intervals : m.registers).push([r.time, r.value]);
  }
  for (const m of by.values()) { m.registers.sort((a, b) => a[0] - b[0]); m.intervals.sort((a, b) => a[0] - b[0]); }
  return [...by.values()];
}
