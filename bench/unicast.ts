/*
 * The unicast baseline: a DLMS-style image transfer to one meter after another, every
 * block acknowledged before the next one goes (ImageTransferInitiate, ImageBlockTransfer
 * per block, ImageVerify and ImageActivate, each a request and a response), retried after
 * a timeout when either frame is lost. Simulated frame by frame with the line's airtime
 * and loss model (independent loss `p` on each frame), and the same frame sizes as our
 * messages so the comparison is of the method, not of the encoding.
 */
import { Rng } from "../hal/mock/rng";

export interface UnicastFrames {
  /** Bytes of a block request, its acknowledgement, and of the other requests/responses. */
  block: number; ack: number; control: number;
}

export interface LineCost { bitRate: number; overheadBytes: number; turnaroundMs: number; processMs: number; answerMs: number }

export interface UnicastResult { blockFrames: number; frames: number; bytes: number; airtimeMs: number; timeMs: number; attempts: number; failed: number }

/** Transfers a `blocks`-block image to `meters` meters one at a time; a request tried `maxTries` times without an answer fails that meter. */
export function unicastCampaign(meters: number, blocks: number, p: number, f: UnicastFrames, line: LineCost, seed: number, maxTries = 8): UnicastResult {
  const rng = new Rng(seed);
  const air = (len: number) => ((line.overheadBytes + len) * 8 * 1000) / line.bitRate;
  const r: UnicastResult = { blockFrames: 0, frames: 0, bytes: 0, airtimeMs: 0, timeMs: 0, attempts: 0, failed: 0 };
  // one request/response exchange, retried until answered; false when it gave up
  const exchange = (req: number, resp: number): boolean => {
    for (let t = 0; t < maxTries; t++) {
      r.attempts++;
      if (req === f.block) r.blockFrames++;
      r.frames++; r.bytes += req; r.airtimeMs += air(req);
      r.timeMs += line.processMs + air(req);
      if (rng.chance(p)) { r.timeMs += line.answerMs; continue; }
      r.frames++; r.bytes += resp; r.airtimeMs += air(resp);
      r.timeMs += line.turnaroundMs + line.processMs + air(resp);
      if (rng.chance(p)) { r.timeMs += Math.max(0, line.answerMs - line.turnaroundMs - line.processMs - air(resp)); continue; }
      return true;
    }
    return false;
  };
  for (let m = 0; m < meters; m++) {
    let ok = exchange(f.control, f.ack);
    for (let b = 0; ok && b < blocks; b++) ok = exchange(f.block, f.ack);
    ok = ok && exchange(f.control, f.ack) && exchange(f.control, f.ack); // verify, activate
    if (!ok) r.failed++;
  }
  return r;
}
