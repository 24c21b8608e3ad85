/*
 * The campaign part of a bench run (run.ts): the operator's update() at the concentrator's
 * console, then the campaign followed to its end in steps of virtual time, sampling who holds
 * how many blocks (every 5 s and at each phase change) and tapping what the concentrator hears
 * in each round. Host code.
 */
import type { consoleApi } from "../firmware/concentrator/console";
import { Ms, Ph, PHASE_NAMES, STATE_NAMES, type Campaign } from "../firmware/concentrator/campaign";
import type { Msg } from "../firmware/protocol/codec";
import { NAMES, P, T, Uo } from "../firmware/protocol/catalogue";
import { forEachMissing } from "../firmware/protocol/missing";
import { errName, nameCodes } from "../tools/errors/table";
import { typed } from "../tools/protocol/typed";
import type { Image } from "./image";
import type { ConcNode, LinkRig } from "./rig";
import type { Faults } from "./run-faults";
import type { RoundHeard, RunHooks, Sample, Talk } from "./run";
import type { Scenario } from "./scenario";

export interface CampaignEnv {
  sc: Scenario;
  img: Image;
  rig: LinkRig;
  conc: ConcNode;
  /** The concentrator's console, and what it printed. */
  ml: ReturnType<typeof consoleApi>;
  out: string[];
  ids: number[];
  simIds: number[];
  isSim(id: number): boolean;
  faults: Faults;
  /** The head-end's tags are in the concentrator's Storage as img.tags. */
  keyed: boolean;
  /** Virtual time forward (held to the wall clock with real boards), the readings drained. */
  step(ms: number): Promise<void>;
  /** The phase the line's airtime is counted to from now on. */
  stage(name: string): void;
  note(text: string): void;
  progress?: RunHooks["progress"];
}

export interface CampaignRun {
  camp: Campaign;
  /** Its start and its length, virtual ms. */
  c0: number;
  campaignMs: number;
  /** The end line the console printed ("" when it did not end). */
  ended: string;
  timeline: Sample[];
  rounds: RoundHeard[];
  talk: Talk[];
}

/** The read-back's outcomes (Uo), as the notes name them. */
const Uo_NAMES: Record<number, string> = { [Uo.RUNNING]: "running", [Uo.REVERTED]: "reverted", [Uo.FAILED]: "failed" };

/** Starts the campaign and follows it to its end (or its deadline and 10 minutes); a string: why it did not start. */
export async function followCampaign(env: CampaignEnv): Promise<CampaignRun | string> {
  const { sc, img, rig, conc, ml, out, ids, isSim, faults } = env;
  const clock = rig.clock;
  if (sc.image.compress) {
    // a packed image goes only to meters whose IDENTITY said their boot routine unpacks: ask first
    env.stage("identify");
    const at = out.length;
    if (ml.identify()) return `the identify round did not start: ${out[out.length - 1]}`;
    // the round asks each meter in turn, a lost exchange costing seconds: half a minute a meter at most
    const most = Math.max(600_000, ids.length * 30_000);
    for (let t = 0; t < most && !out.slice(at).some((l) => l.startsWith("meterline: identify round")); t += 1000) await env.step(1000);
    const round = out.slice(at).find((l) => l.startsWith("meterline: identify round"));
    if (!round) return "the identify round before the packed campaign did not end";
    env.note(round);
  }
  env.stage("control");
  // the coded method plans for the line's loss, as an operator who knows the line would set it
  const e = ml.update("img.bin", { imageId: img.session.imageId, deadlineS: sc.deadlineMinutes * 60, maxRounds: 40, tags: env.keyed ? "img.tags" : undefined, method: sc.method, loss: Math.min(0.5, sc.loss.p) });
  if (e) return `the campaign did not start: ${out[out.length - 1]}`;
  env.note(nameCodes(out[out.length - 1]));
  const camp = conc.ctx.campaign()!;
  const c0 = clock.now();
  const timeline: Sample[] = [];
  let ended = "";
  const K = img.session.blockCount;
  // each meter's blocks when last seen on (a meter that is off keeps what its flash holds)
  const lastHeld = ids.map(() => 0);
  const sample = (waiting?: Sample["waiting"]) => {
    let held = 0, complete = 0;
    const each: number[] = [];
    ids.forEach((id, i) => {
      const n = isSim(id) ? rig.meters.get(id) : undefined;
      const st = camp.state(i);
      let h = -1;
      if (n && !n.clock.dead) h = lastHeld[i] = n.meter.receiver.session()?.imageId === img.session.imageId ? Math.min(n.meter.receiver.received(), K) : faults.installed.has(id) ? K : 0;
      // a real board: the bench cannot see into it, so the campaign's state it is
      else if (!n) lastHeld[i] = h = st >= Ms.COMPLETE && st !== Ms.FAILED ? K : -1;
      // complete: it holds the whole image, as its lane shows; not the campaign's state, which
      // (coded) moves a meter not heard unfinished to activating on trust, before its read-back
      if (lastHeld[i] === K) complete++;
      if (h > 0) held += h;
      each.push(h);
    });
    const s: Sample = { t: (clock.now() - c0) / 1000, phase: PHASE_NAMES[camp.phase()], blocksHeld: held, complete, airtimeMs: rig.line.totals.airtimeMs, held: each };
    if (waiting) s.waiting = waiting;
    timeline.push(s);
  };
  // what the concentrator hears in each round: the campaign's own messages, tapped on their way in
  const rounds: RoundHeard[] = [];
  const heard = camp.onMessage;
  camp.onMessage = (m: Msg) => {
    const took = heard(m), tm = typed(m);
    if (took && (tm.type === T.STATUS_REPORT || tm.type === T.DEFICIT || tm.type === T.DOWNLOAD_COMPLETE) && tm.body.imageId === img.session.imageId) {
      const k = camp.totals.rounds;
      let r = rounds[rounds.length - 1];
      if (!r || r.round !== k) rounds.push(r = { round: k, t: (clock.now() - c0) / 1000, missing: new Array<number>(K).fill(0), need: {} });
      if (tm.type === T.DOWNLOAD_COMPLETE) r.need[m.src] = 0;
      else if (tm.type === T.DEFICIT) r.need[m.src] = tm.body.needed;
      else if (!forEachMissing(tm.body, K, (b) => { r.missing[b]++; })) r.need[m.src] = K - tm.body.received;
    }
    return took;
  };
  // what the concentrator asked and heard in the activate and read-back phases (the report's notes on long stripes)
  const talk: Talk[] = [];
  const inTalk = () => camp.phase() === Ph.ACTIVATE || camp.phase() === Ph.READBACK;
  const ep = conc.ctx.endpoint, send = ep.send;
  ep.send = (m: Msg) => {
    const ph = PHASE_NAMES[camp.phase()], e = send.call(ep, m);
    if (!e && (ph === "activate" || ph === "read-back") && (m.type === T.ACTIVATE || m.type === T.STATUS_QUERY || m.type === T.RESULT_LIST)) {
      const tm = typed(m), to = m.mode === P.TO_METER ? m.dst : 0;
      talk.push({ t: (clock.now() - c0) / 1000, phase: ph, asked: true, meter: to, what: NAMES[m.type] ?? String(m.type), ...(tm.type === T.RESULT_LIST ? { ids: tm.body.ids.map((x) => x.id) } : {}) });
    }
    return e;
  };
  const tapped = camp.onMessage;
  camp.onMessage = (m: Msg) => {
    const ph = PHASE_NAMES[camp.phase()], was = inTalk(), took = tapped(m);
    if (took && was) {
      const tm = typed(m);
      const what = tm.type === T.ERROR ? `ERROR ${errName(tm.body.code)}` : tm.type === T.UPDATE_RESULT ? `UPDATE_RESULT ${Uo_NAMES[tm.body.outcome] ?? tm.body.outcome} v${tm.body.version}`
        : tm.type === T.STATUS_REPORT ? `STATUS_REPORT ${tm.body.received} of ${K} blocks` : tm.type === T.DEFICIT ? `DEFICIT ${tm.body.needed}` : NAMES[m.type] ?? String(m.type);
      talk.push({ t: (clock.now() - c0) / 1000, phase: ph, asked: false, meter: m.src, what });
    }
    return took;
  };
  sample();
  let lastSample = clock.now(), lastPhase = camp.phase();
  const until = c0 + sc.deadlineMinutes * 60_000 + 600_000;
  while (!ended && clock.now() < until) {
    env.stage(PHASE_NAMES[camp.phase()]);
    try {
      await env.step(100);
    } catch (err) {
      if (!faults.struck(err, env.simIds)) throw err;
    }
    faults.armDownloadCuts();
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
      env.progress?.(t.phase, t.blocksHeld / (ids.length * K), `round ${camp.totals.rounds}, ${t.complete}/${ids.length} meters complete`);
    }
    const ph = camp.phase();
    if (ph === Ph.DONE || ph === Ph.ABORTED) ended = out.find((l) => l.startsWith(`meterline: campaign ${img.session.imageId} ended`)) ?? `ended in phase ${PHASE_NAMES[ph]}`;
  }
  env.stage(PHASE_NAMES[camp.phase()]);
  sample();
  env.note(ended ? nameCodes(ended) : "the campaign did not end");
  return { camp, c0, campaignMs: clock.now() - c0, ended, timeline, rounds, talk };
}
