/*
 * A meter reduced to its side of the update method, for the campaign benchmark: the real
 * endpoint and codec, a bitmap of stored blocks, missing-block reports built by the
 * firmware's own report builder. It accepts every control (the refusal paths are the
 * meter program's, tested elsewhere), answers status queries, and after ACTIVATE reports
 * the new version as running. What a campaign costs on the line depends only on these
 * answers, so thousands of model meters measure the method where thousands of full meter
 * programs would not fit a host.
 */
import { Err } from "../firmware/common/errors";
import { endpoint, type Endpoint } from "../firmware/link/endpoint";
import { P, T } from "../firmware/protocol/catalogue";
import { newMsg, setMsg, type Msg } from "../firmware/protocol/codec";
import { buildReport, isSet, setBit, type MissingReport } from "../firmware/protocol/missing";
import type { VirtualClock } from "../hal/mock/clock";
import type { PowerLine } from "../hal/mock/powerline";
import { lineModem } from "./line-modem";

export interface ModelMeter {
  id: number;
  ep: Endpoint;
  /** Blocks stored so far. */
  received(): number;
  /** 0 idle, 1 downloading, 3 complete, 6 activated. */
  state(): number;
}

/** The line node name of meter `id` (and "conc" for the concentrator's address). */
export function nodeName(id: number): string { return id === P.BROADCAST_ID ? "conc" : `m${id}`; }

export function modelMeter(line: PowerLine, clock: VirtualClock, id: number): ModelMeter {
  let imageId = -1, count = 0, got = new Uint8Array(0), stored = 0, st = 0, version = 0, seq = 0;
  const tx = newMsg();
  const rep: MissingReport & { imageId: number; state: number } = { imageId: 0, state: 1, received: 0, firstMissing: 0, form: 0, base: 0, covers: 0, map: new Uint8Array(0) };
  const reply = (req: Msg, type: number, body: unknown) => {
    seq = (seq + 1) & 0xffff;
    ep.send(setMsg(tx, type, seq, id, P.TO_METER, req.src, body));
  };
  const ep = endpoint(id, 2, {
    inGroup: () => false,
    ready: () => {},
    message: (m) => {
      const b = m.body;
      switch (m.type) {
        case T.UPDATE_CONTROL:
          if (b.imageId !== imageId) { imageId = b.imageId; count = b.blockCount; got = new Uint8Array((count + 7) >> 3); stored = 0; version = b.version; }
          st = st === 6 ? 6 : stored === count ? 3 : 1;
          reply(m, T.ACK, { refType: m.type, refSeq: m.seq });
          break;
        case T.DATA_BLOCK:
          if (b.imageId !== imageId || b.index >= count || isSet(got, b.index)) break;
          setBit(got, b.index);
          if (++stored === count) st = 3;
          break;
        case T.STATUS_QUERY:
          if (b.imageId !== imageId) { reply(m, T.ERROR, { refType: m.type, refSeq: m.seq, code: Err.UPDATE_NO_SESSION }); break; }
          if (st === 6) reply(m, T.UPDATE_RESULT, { imageId, version, outcome: 1, code: 0 });
          else if (st === 3) reply(m, T.DOWNLOAD_COMPLETE, { imageId, version });
          else { rep.imageId = imageId; buildReport(got, count, P.MAX_MAP, rep); reply(m, T.STATUS_REPORT, rep); }
          break;
        case T.ACTIVATE:
          if (b.imageId === imageId && st === 3) st = 6;
          if (m.mode !== P.TO_METER) break;
          if (st === 6) reply(m, T.ACK, { refType: m.type, refSeq: m.seq });
          else reply(m, T.ERROR, { refType: m.type, refSeq: m.seq, code: b.imageId === imageId ? Err.UPDATE_NOT_VERIFIED : Err.UPDATE_NO_SESSION });
          break;
      }
    },
  });
  const modem = lineModem(line, clock, nodeName(id), ep.events);
  ep.attach(modem);
  modem.start();
  return { id, ep, received: () => stored, state: () => st };
}
