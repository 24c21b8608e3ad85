/*
 * A meter reduced to its side of the update method, for the campaign benchmark: the real
 * endpoint and codec, a bitmap of stored blocks, missing-block reports built by the
 * firmware's own report builder. It accepts every control (the refusal paths are the
 * meter program's, tested elsewhere), answers status queries, and after ACTIVATE reports
 * the new version as running. What a campaign costs on the line depends only on these
 * answers, so thousands of model meters measure the method where thousands of full meter
 * programs would not fit a host.
 *
 * For the coded method it runs the meter's own rows decoder (firmware/meter/decoder.ts
 * rowsDecoder, the one of the board whose room it models) on every repair block, with
 * that board's room (repair slots): a meter is complete when the decoder reaches full
 * rank. The decoder's data work (cleaning and reducing each kept repair block as it
 * arrives, writing the rows at full rank) runs on 4-byte blocks: the same operations as
 * on the meter, counted (`work`), without moving 212-byte blocks for thousands of meters.
 */
import { Err } from "../firmware/common/errors";
import { endpoint, type Endpoint } from "../firmware/link/endpoint";
import { getU32 } from "../firmware/common/bytes";
import { P, T, Uo, Ust, Who } from "../firmware/protocol/catalogue";
import { Ms } from "../firmware/concentrator/campaign";
import { newMsg, setMsg, type Msg } from "../firmware/protocol/codec";
import { buildReport, isSet, setBit, type MissingReport } from "../firmware/protocol/missing";
import { FREE, rowsDecoder, type Decoder } from "../firmware/meter/decoder";
import { typed, type Bodies } from "../tools/protocol/typed";
import { Rng } from "../hal/mock/rng";
import type { VirtualClock } from "../hal/mock/clock";
import type { PowerLine } from "../hal/mock/powerline";
import { lineModem } from "./line-modem";

export interface ModelMeter {
  id: number;
  ep: Endpoint;
  /** Blocks stored so far. */
  received(): number;
  /** Its state as the campaign names it (Ms): SELECTED before any control (idle), DOWNLOADING, COMPLETE, ACTIVATED. */
  state(): number;
  /** Coded method: block XORs of its decode (cleaning, elimination), 0 when it decoded nothing. */
  work(): { cleanXors: number; rowXors: number; missing: number };
}

/** What the model meter's board holds for the coded method: spare slots after the image, and decoder rows. */
export interface ModelRoom { spareSlots: number; rows: number }

/** The line node name of meter `id` (and "conc" for the concentrator's address). */
export function nodeName(id: number): string { return id === P.BROADCAST_ID ? "conc" : `m${id}`; }

export function modelMeter(line: PowerLine, clock: VirtualClock, id: number, room: ModelRoom = { spareSlots: 0, rows: 0 }, seed = id, group = 0): ModelMeter {
  let imageId = -1, count = 0, got = new Uint8Array(0), stored = 0, st: Ms = Ms.SELECTED, version = 0, seq = 0, selected = -1;
  // coded method: the decoder, the repair indices kept, how many, and the decode's work
  let dec: Decoder | null = null, ids = new Uint16Array(0), kept = 0, dirty = false, missingAtDecode = 0;
  const rng = new Rng(seed);
  const rows = Math.min(room.spareSlots, room.rows);
  // blocks of 4 bytes, all zero: only the decoder's ranks and its work counts matter here
  const four = new Uint8Array(4), read = () => four;
  const ready = () => { if (dec && dirty) { dec.rebuild(got, ids, kept, read, read); dirty = false; } return dec; };
  const complete = () => { st = Ms.COMPLETE; };
  /** The decoder's data step at full rank, on 4-byte blocks: its work, counted. */
  const decode = (d: Decoder) => {
    missingAtDecode = count - stored;
    d.solve(() => 4, read, read, () => 0);
    complete();
  };
  const tx = newMsg();
  const rep: MissingReport & { imageId: number; state: number } = { imageId: 0, state: Ust.DOWNLOADING, received: 0, firstMissing: 0, form: 0, base: 0, covers: 0, map: new Uint8Array(0) };
  const reply = <K extends keyof Bodies>(req: Msg, type: K, body: Bodies[K]) => {
    seq = (seq + 1) & 0xffff;
    ep.send(setMsg(tx, type, seq, id, P.TO_METER, req.src, body));
  };
  const ep = endpoint(id, 2, {
    inGroup: (g) => group !== 0 && g === group,
    ready: () => {},
    message: (m) => {
      // the body typed by the message's type (tools/protocol/bodies.ts): a wrong field name does not compile
      const { type, body: b } = typed(m);
      switch (type) {
        case T.UPDATE_CONTROL:
          if (m.mode === P.TO_ALL && selected !== b.imageId) break;
          if (b.imageId !== imageId) {
            imageId = b.imageId; count = b.blockCount; got = new Uint8Array((count + 7) >> 3); stored = 0; version = b.version;
            ids = new Uint16Array(rows).fill(FREE); kept = 0; dirty = true;
            dec = rows ? rowsDecoder(count, 4, rows) : null;
          }
          st = st === Ms.ACTIVATED || st === Ms.COMPLETE ? st : Ms.DOWNLOADING;
          if (m.mode === P.TO_METER) reply(m, T.ACK, { refType: m.type, refSeq: m.seq });
          break;
        case T.SELECT_LIST:
          for (const e of b.ids) if (e.id === id) selected = b.imageId;
          break;
        case T.DATA_BLOCK:
          if (b.imageId !== imageId || st !== Ms.DOWNLOADING || b.index >= count || isSet(got, b.index)) break;
          setBit(got, b.index);
          dirty = true;
          if (++stored === count) complete();
          else if (count - stored <= kept) { const d = ready(); if (d && !d.lacking()) decode(d); }
          break;
        case T.REPAIR_BLOCK: {
          if (b.imageId !== imageId || st !== Ms.DOWNLOADING || kept >= rows) break;
          const d = ready();
          if (!d || !d.offer(b.index)) break;
          ids[kept] = b.index;
          d.keep(kept++, four, read);
          if (!d.lacking()) decode(d);
          break;
        }
        case T.GROUP_QUERY: {
          if (b.imageId !== imageId) {
            if (selected !== b.imageId && m.mode !== P.TO_GROUP) break;
          } else if (st !== Ms.DOWNLOADING || b.who !== Who.UNFINISHED) break;
          const d = ready();
          const body = b.imageId !== imageId
            ? { imageId: b.imageId, state: Ust.IDLE, received: 0, needed: 0, room: 0, code: Err.UPDATE_NO_SESSION }
            : { imageId, state: Ust.DOWNLOADING, received: stored, needed: d ? d.lacking() : count - stored, room: rows - kept, code: 0 };
          const to = m.src, delay = Math.floor(rng.next() * (b.slots || 1)) * b.slotMs;
          clock.setTimeout(() => { seq = (seq + 1) & 0xffff; ep.send(setMsg(tx, T.DEFICIT, seq, id, P.TO_METER, to, body)); }, delay);
          break;
        }
        case T.STATUS_QUERY:
          if (b.imageId !== imageId) { reply(m, T.ERROR, { refType: m.type, refSeq: m.seq, code: Err.UPDATE_NO_SESSION }); break; }
          if (st === Ms.ACTIVATED) reply(m, T.UPDATE_RESULT, { imageId, version, outcome: Uo.RUNNING, code: 0 });
          else if (st === Ms.COMPLETE) reply(m, T.DOWNLOAD_COMPLETE, { imageId, version });
          else { rep.imageId = imageId; buildReport(got, count, P.MAX_MAP, rep); reply(m, T.STATUS_REPORT, rep); }
          break;
        case T.RESULT_LIST: {
          const at = b.ids.findIndex((e: { id: number }) => e.id === id);
          if (at < 0) break;
          const d = ready(), to = m.src, ref = { refType: m.type, refSeq: m.seq };
          const [type, body] = b.imageId !== imageId ? [T.ERROR, { ...ref, code: Err.UPDATE_NO_SESSION }]
            : st === Ms.ACTIVATED ? [T.UPDATE_RESULT, { imageId, version, outcome: Uo.RUNNING, code: 0 }]
            : st === Ms.COMPLETE ? [T.DOWNLOAD_COMPLETE, { imageId, version }]
            : [T.DEFICIT, { imageId, state: Ust.DOWNLOADING, received: stored, needed: d ? d.lacking() : count - stored, room: rows - kept, code: 0 }];
          clock.setTimeout(() => { seq = (seq + 1) & 0xffff; ep.send(setMsg(tx, type, seq, id, P.TO_METER, to, body)); }, b.lead + at * b.slotMs);
          break;
        }
        case T.ACTIVATE:
          if (b.imageId === imageId && st === Ms.COMPLETE) st = Ms.ACTIVATED;
          if (m.mode !== P.TO_METER) break;
          if (st === Ms.ACTIVATED) reply(m, T.ACK, { refType: m.type, refSeq: m.seq });
          else reply(m, T.ERROR, { refType: m.type, refSeq: m.seq, code: b.imageId === imageId ? Err.UPDATE_NOT_VERIFIED : Err.UPDATE_NO_SESSION });
          break;
      }
    },
  });
  // a RESULT_LIST that does not name this meter is dropped before decoding (the real meter
  // decodes it and ignores it): 10,000 model meters decoding every 55-record list made the
  // 10,000-meter simulation four times slower
  const events = {
    ...ep.events,
    received(b: Uint8Array, n: number, q: number) {
      if (b[1] === T.RESULT_LIST && n >= P.HEADER + 7 && !namesMeter(b, n)) return;
      ep.events.received(b, n, q);
    },
  };
  const namesMeter = (b: Uint8Array, n: number) => {
    for (let at = P.HEADER + 7; at + 4 <= n; at += 4) if (getU32(b, at) === id) return true;
    return false;
  };
  const modem = lineModem(line, clock, nodeName(id), events);
  ep.attach(modem);
  modem.start();
  return {
    id, ep, received: () => stored, state: () => st,
    work: () => ({ cleanXors: dec ? dec.work.cleanXors : 0, rowXors: dec ? dec.work.rowXors : 0, missing: missingAtDecode }),
  };
}
