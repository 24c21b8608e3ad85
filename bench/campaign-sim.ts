/*
 * One update campaign at scale: the real concentrator campaign engine and endpoint on the
 * simulated line, with N model meters (bench/model-meter.ts). Returns what the line
 * carried, what the engine counted, and how long it took in virtual and wall time.
 */
import { VirtualClock } from "../hal/mock/clock";
import { PowerLine } from "../hal/mock/powerline";
import { endpoint } from "../firmware/link/endpoint";
import { P } from "../firmware/protocol/catalogue";
import { campaign, unionRepair, type Campaign } from "../firmware/concentrator/campaign";
import { imageOf, blockOf } from "./image";
import { lineModem, unicastDestination } from "./line-modem";
import { modelMeter, nodeName } from "./model-meter";

export interface SimOptions {
  meters: number; loss: number; imageSize: number; blockSize: number; seed: number;
  bitRate: number; overheadBytes: number; turnaroundMs: number; answerMs: number;
  /** Called every few seconds of wall time with blocks held by all meters / needed. */
  progress?: (done: number, total: number) => void;
}

export interface SimResult {
  code: number; complete: number; frames: number; bytes: number; airtimeMs: number;
  blocks: number; polls: number; rounds: number; timeMs: number; wallMs: number; blockCount: number;
  /** Bytes of one data-block frame, of an ACK and of a control, for the baselines. */
  sizes: { block: number; ack: number; control: number };
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
  for (let i = 0; i < o.meters; i++) { ids.push(100000 + i); meters.push(modelMeter(line, clock, 100000 + i)); }
  let camp: Campaign | null = null;
  const sizes = { block: 0, ack: 0, control: 0 };
  const ep = endpoint(P.BROADCAST_ID, 4, {
    inGroup: () => false,
    ready: () => {},
    message: (m) => { camp?.onMessage(m); },
    sent: (type) => { camp?.onSent(); },
  });
  const modem = lineModem(line, clock, "conc", ep.events);
  ep.attach(modem);
  modem.start();
  clock.advance(10);
  let code = -1;
  camp = campaign(ep, clock, {
    session: img.session, block: (i) => blockOf(img, i), meters: ids,
    deadlineMs: 0, maxRounds: 100, noProgressRounds: 8, maxNoAnswer: 6, answerMs: o.answerMs, rebootMs: 1000, activateAt: 0,
    lineBitRate: o.bitRate, frameOverhead: o.overheadBytes,
  }, unionRepair, (c) => { code = c; });
  // frame sizes of this encoding, from the endpoint's own count
  const send = ep.send;
  ep.send = (m) => {
    const e = send(m);
    if (!e) {
      const k = m.type === 0x42 ? "block" : m.type === 0x41 ? "control" : null;
      if (k && !sizes[k]) sizes[k] = ep.lastLength();
    }
    return e;
  };
  meters[0].ep.send; // (meters answer with ACKs of 17 bytes: header and ACK body)
  const t0 = clock.now();
  camp.start();
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
  for (const n of [modem.node, ...meters.map(() => null)]) void n;
  const all = [modem.node];
  for (const id of ids) all.push(line.node(nodeName(id)));
  for (const n of all) { frames += n.counters.txFrames; sent += n.counters.txBytes; air += n.counters.airtimeMs; }
  sizes.ack = 14 + 3;
  return {
    code, complete: meters.filter((m) => m.state() === 6).length, frames, bytes: sent, airtimeMs: air,
    blocks: camp.totals.blocks, polls: camp.totals.polls, rounds: camp.totals.rounds,
    timeMs: clock.now() - t0, wallMs: performance.now() - wall0, blockCount: img.session.blockCount, sizes,
  };
}
