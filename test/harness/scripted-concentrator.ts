/*
 * A scripted concentrator for meter scenario tests: requests with retries, and the update
 * method exactly as specified (control, broadcast, poll each unfinished meter, re-send
 * the union of what is missing). The real campaign engine is firmware/concentrator; this
 * one is small on purpose so meter tests do not depend on it.
 */
import { newMsg, type Msg } from "../../firmware/protocol/codec";
import { forEachMissing } from "../../firmware/protocol/missing";
import type { Session } from "../../firmware/common/update-image";
import { imageOf, programImage, type Image } from "../../bench/image";
import type { LinkRig, RigNode } from "../../bench/rig";
import { typed } from "../../tools/protocol/typed";
import { Rd, T } from "../../firmware/protocol/catalogue";
import type { TagImage } from "../../firmware/common/hmac";
import { authorisationFor } from "../../tools/keys/keyfile";

export const CONC = 0xffffffff;

let seqNo = 100;

export function msg(type: number, body: Record<string, unknown>, dst: number, mode = 0): Msg {
  const m = newMsg();
  Object.assign(m, { type, seq: (seqNo = (seqNo + 1) & 0xffff), src: CONC, mode, dst, body });
  return m;
}

/** Sends and waits for the answer (same refSeq for ACK/ERROR, else from `dst` after sending); retries. */
export function request(rig: LinkRig, conc: RigNode, m: Msg, opts: { tries?: number; waitMs?: number } = {}): Msg | null {
  for (let t = 0; t < (opts.tries ?? 8); t++) {
    const from = conc.inbox.length;
    while (conc.ep.send(m)) rig.clock.advance(20);
    const until = rig.clock.now() + (opts.waitMs ?? 4000);
    while (rig.clock.now() < until) {
      rig.clock.advance(20);
      for (let i = from; i < conc.inbox.length; i++) {
        const r = conc.inbox[i].msg, tr = typed(r);
        if (r.src !== m.dst) continue;
        if ((tr.type === T.ACK || tr.type === T.ERROR) && tr.body.refSeq !== m.seq) continue;
        return r;
      }
    }
  }
  return null;
}

/** A meter's EVENTS answer: the oldest and newest numbers held, and the events asked for. */
export interface EventsBody { first: number; last: number; events: { n: number; code: number; time: number; data: number }[] }

/** Meter `id`'s events from number `from` on (15 at most), through READ_REQ on the line; null when it answers anything but EVENTS. */
export function readEvents(rig: LinkRig, conc: RigNode, id: number, from: number): EventsBody | null {
  const r = request(rig, conc, msg(T.READ_REQ, { what: Rd.EVENTS, obis: new Uint8Array(6).fill(255), from, count: 15 }, id));
  return r && r.type === T.EVENTS ? (r.body as EventsBody) : null;
}


/** Sends without waiting for an answer, once the endpoint has room. */
export function post(rig: LinkRig, conc: RigNode, m: Msg): void {
  while (conc.ep.send(m)) rig.clock.advance(20);
}

/** Waits until everything queued has left. */
export function drain(rig: LinkRig, conc: RigNode): void {
  while (conc.ep.pending()) rig.clock.advance(20);
  rig.clock.advance(200);
}

export type { Image };

export function makeImage(size: number, blockSize: number, o: { imageId?: number; version?: number; board?: number; seed?: number } = {}): Image {
  let x = o.seed ?? 1;
  const bytes = Uint8Array.from({ length: size }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24));
  return imageOf(bytes, { imageId: o.imageId ?? 7, version: o.version ?? 2, board: o.board ?? 1, blockSize });
}

/** A program image of `size` bytes in total (app header included) for version `version`. */
export function makeProgramImage(version: number, size: number, blockSize: number, o: { imageId?: number; board?: number } = {}): Image {
  const body = new TextEncoder().encode(`/*program v${version}*/`.padEnd(size - 16, " "));
  return programImage(body, { imageId: o.imageId ?? 7, version, board: o.board ?? 1, blockSize });
}

export function controlBody(s: Session, start = 1): Record<string, unknown> {
  return { imageId: s.imageId, version: s.version, board: s.board, size: s.size, blockSize: s.blockSize, blockCount: s.blockCount, digest: s.digest, activateAt: s.activateAt, start };
}

/** A campaign's block key for scripted keyed tests (the head-end's key file gives each campaign its own). */
export const BLOCK_KEY = Uint8Array.from({ length: 16 }, (_, i) => 0x5a ^ (i * 7));

/**
 * The head-end's authorisation of image `s` for meter `forId` under `root`, as an AUTHORIZE
 * body: the layout its tag binds, the kind, the tag and the campaign's block key wrapped for
 * that meter (also an AUTHORIZE_LIST entry's fields, with the id).
 */
export function authorizeBody(root: Uint8Array, kind: number, s: TagImage, forId: number, floor = 0, blockKey = BLOCK_KEY): Record<string, unknown> {
  const a = authorisationFor(root, kind, s, forId, blockKey, floor);
  return { imageId: s.imageId, version: s.version, board: s.board, size: s.size, blockSize: s.blockSize, blockCount: s.blockCount, digest: s.digest, id: forId, kind, tag: a.tag, key: a.key };
}

export function blockMsg(img: Image, i: number, dst = CONC, mode = 2): Msg {
  const s = img.session;
  return msg(T.DATA_BLOCK, { imageId: s.imageId, index: i, data: img.bytes.slice(i * s.blockSize, Math.min(s.size, (i + 1) * s.blockSize)) }, dst, mode);
}

export interface DownloadResult { complete: number[]; rounds: number; blocksSent: number; sent: number[] }

/**
 * The update method: broadcast every block (unless `skipInitial`), then poll each
 * unfinished meter and re-broadcast the union of missing blocks, for up to `maxRounds`.
 */
export function download(rig: LinkRig, conc: RigNode, meters: number[], img: Image, o: { maxRounds?: number; skipInitial?: boolean } = {}): DownloadResult {
  const s = img.session;
  const sent: number[] = [];
  const bcast = (i: number) => { post(rig, conc, blockMsg(img, i)); sent.push(i); };
  if (!o.skipInitial) for (let i = 0; i < s.blockCount; i++) bcast(i);
  drain(rig, conc);
  const done = new Set<number>();
  let rounds = 0;
  while (done.size < meters.length && rounds < (o.maxRounds ?? 30)) {
    rounds++;
    const missing = new Set<number>();
    for (const id of meters) {
      if (done.has(id)) continue;
      const q = request(rig, conc, msg(T.STATUS_QUERY, { imageId: s.imageId }, id));
      if (!q) continue;
      const r = typed(q);
      if (r.type === T.DOWNLOAD_COMPLETE) { done.add(id); continue; }
      if (r.type !== T.STATUS_REPORT) throw new Error(`meter ${id} answered a status query with type ${r.type} (${JSON.stringify(r.body)})`);
      const err = forEachMissing(r.body, s.blockCount, (b) => missing.add(b));
      if (err) throw new Error(`meter ${id} sent an inconsistent report (E${err})`);
      // blocks past the report's window are asked for again next round
    }
    for (const b of [...missing].sort((a, c) => a - c)) bcast(b);
    drain(rig, conc);
  }
  return { complete: [...done], rounds, blocksSent: sent.length, sent };
}
