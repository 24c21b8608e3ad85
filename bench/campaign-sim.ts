/*
 * One update campaign at scale: the real concentrator campaign engine and endpoint on the
 * simulated line, with N model meters (bench/model-meter.ts). Returns what the line
 * carried, what the engine counted, and how long it took in virtual and wall time.
 */
import { VirtualClock } from "../hal/mock/clock";
import { PowerLine } from "../hal/mock/powerline";
import { endpoint, type Endpoint } from "../firmware/link/endpoint";
import { P, T } from "../firmware/protocol/catalogue";
import { encodeMsg, newMsg, setMsg } from "../firmware/protocol/codec";
import type { Session } from "../firmware/common/update-image";
import { campaign, unionRepair, type Campaign, type CampaignConfig } from "../firmware/concentrator/campaign";
import type { LineNode } from "../hal/mock/powerline";
import { imageOf, blockOf } from "./image";
import { lineModem, unicastDestination } from "./line-modem";
import { modelMeter, nodeName, type ModelRoom } from "./model-meter";

export interface SimOptions {
  meters: number; loss: number; imageSize: number; blockSize: number; seed: number;
  bitRate: number; overheadBytes: number; turnaroundMs: number; answerMs: number;
  /** Baud of the concentrator's modem link, for answer times (default 57,600). */
  hostBaud?: number;
  /** Unanswered requests in a row before a meter fails (default 10). */
  maxNoAnswer?: number;
  /** The coded method (else the patent's), and the room of the meters' board for repair blocks. */
  coded?: boolean;
  room?: ModelRoom;
  /** Uneven line: this share of the meters (chosen by the seed) loses `loss` of frames both ways, the rest `SimOptions.loss`. */
  bad?: { share: number; loss: number };
  /** Reboot wait after ACTIVATE (default 1,000 ms). */
  rebootMs?: number;
  /** Every meter is in this group and the campaign selects it (else by list). */
  group?: number;
  /** The loss the coded method plans for (default `loss`). */
  planLoss?: number;
  /** Called every few seconds of wall time with blocks held by all meters / needed. */
  progress?: (done: number, total: number) => void;
}

export interface SimResult {
  code: number; complete: number; frames: number; bytes: number; airtimeMs: number;
  blocks: number; polls: number; rounds: number; timeMs: number;
  /** Coded: the loss the repair rounds planned for at the end, in % (the campaign's totals.lossPct). */
  lossPct: number; wallMs: number; blockCount: number;
  /** Coded method: the largest decode on one meter (block XORs: cleaning, elimination; its missing blocks). */
  worstDecode: { cleanXors: number; rowXors: number; missing: number };
  /** Bytes of one data-block frame, of an ACK and of a control, for the baselines. */
  sizes: { block: number; ack: number; control: number };
}

/** Encoded lengths of a full data block, an ACK and an UPDATE_CONTROL for `s`. */
export function frameSizes(s: Session): { block: number; ack: number; control: number } {
  const out = new Uint8Array(P.MAX_FRAME), m = newMsg();
  const len = (type: number, body: unknown) => encodeMsg(setMsg(m, type, 1, P.BROADCAST_ID, P.TO_METER, 1, body), out);
  return {
    block: len(T.DATA_BLOCK, { imageId: s.imageId, index: 0, data: new Uint8Array(s.blockSize) }),
    ack: len(T.ACK, { refType: T.DATA_BLOCK, refSeq: 1 }),
    control: len(T.UPDATE_CONTROL, { ...s, start: 1 }),
  };
}

/** The campaign engine with its endpoint straight on the line as node "conc"; start() runs a campaign there. */
export function campaignNode(line: PowerLine, clock: VirtualClock): { ep: Endpoint; node: LineNode; start(cfg: CampaignConfig, done: (code: number) => void, restore?: Uint8Array): Campaign } {
  let camp: Campaign | null = null;
  const ep = endpoint(P.BROADCAST_ID, 4, {
    inGroup: () => false,
    ready: () => {},
    message: (m) => { camp?.onMessage(m); },
    sent: () => { camp?.onSent(); },
  });
  const modem = lineModem(line, clock, "conc", ep.events);
  ep.attach(modem);
  modem.start();
  clock.advance(10);
  return {
    ep, node: modem.node,
    // `restore`: a checkpoint body, as a concentrator that restarted resumes its campaign
    start(cfg, done, restore) { camp = campaign(ep, clock, cfg, unionRepair, done, restore); camp.start(); return camp; },
  };
}

export function simulateCampaign(o: SimOptions): SimResult {
  const wall0 = performance.now();
  const clock = new VirtualClock();
  const line = new PowerLine(clock, {
    bitRate: o.bitRate, overheadBytes: o.overheadBytes, turnaroundMs: o.turnaroundMs, seed: o.seed,
    defaults: { loss: o.loss },
    route: (b) => { const d = unicastDestination(b); return d < 0 ? null : nodeName(d); },
  });
  let x = o.seed >>> 0;
  const bytes = Uint8Array.from({ length: o.imageSize }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24));
  const img = imageOf(bytes, { imageId: 1, version: 2, board: 1, blockSize: o.blockSize });
  const ids: number[] = [];
  const meters = [];
  for (let i = 0; i < o.meters; i++) { ids.push(100000 + i); meters.push(modelMeter(line, clock, 100000 + i, o.room, o.seed * 7919 + i, o.group ?? 0)); }
  if (o.bad) {
    // the bad share, spread evenly by a stride the seed picks
    const count = Math.round(o.meters * o.bad.share), step = o.meters / Math.max(1, count);
    for (let k = 0; k < count; k++) {
      const name = nodeName(ids[Math.floor(k * step + (o.seed % Math.max(1, Math.floor(step))))]);
      line.link("conc", name, { loss: o.bad.loss });
      line.link(name, "conc", { loss: o.bad.loss });
    }
  }
  const sizes = frameSizes(img.session);
  const conc = campaignNode(line, clock);
  let code = -1;
  const t0 = clock.now();
  const camp = conc.start({
    session: img.session, block: (i) => blockOf(img, i), meters: ids,
    deadlineMs: 0, maxRounds: 100, noProgressRounds: 8, maxNoAnswer: o.maxNoAnswer ?? 10, answerMs: o.answerMs, rebootMs: o.rebootMs ?? 1000, activateAt: 0,
    lineBitRate: o.bitRate, frameOverhead: o.overheadBytes, coded: o.coded, planLoss: o.planLoss ?? o.loss, group: o.group, hostBaud: o.hostBaud ?? 57600,
  }, (c) => { code = c; });
  let lastReport = performance.now();
  const total = o.meters * img.session.blockCount;
  while (code < 0) {
    clock.advance(Math.max(1, Math.min(60_000, clock.nextDue() - clock.now())));
    if (o.progress && performance.now() - lastReport > 1000) {
      lastReport = performance.now();
      let held = 0;
      for (const m of meters) held += m.received();
      o.progress(held, total);
    }
  }
  let frames = 0, sent = 0, air = 0;
  const all = [conc.node];
  for (const id of ids) all.push(line.node(nodeName(id)));
  for (const n of all) { frames += n.counters.txFrames; sent += n.counters.txBytes; air += n.counters.airtimeMs; }
  return {
    code, complete: meters.filter((m) => m.state() === 6).length, frames, bytes: sent, airtimeMs: air,
    blocks: camp.totals.blocks, polls: camp.totals.polls, rounds: camp.totals.rounds, lossPct: camp.totals.lossPct,
    timeMs: clock.now() - t0, wallMs: performance.now() - wall0, blockCount: img.session.blockCount, sizes,
    worstDecode: meters.map((m) => m.work()).reduce((a, b) => (b.cleanXors + b.rowXors > a.cleanXors + a.rowXors ? b : a), { cleanXors: 0, rowXors: 0, missing: 0 }),
  };
}
