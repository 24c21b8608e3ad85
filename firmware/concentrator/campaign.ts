/*
 * The broadcast update campaign, exactly the method: send the update control to the
 * selected meters, broadcast all N data blocks paced to the modem, then poll the unfinished
 * meters one after another for their missing blocks, broadcast the union of what they
 * report, and repeat; a meter that reports download complete is never polled again. Then
 * activation (broadcast, up to MAX_ACTIVATIONS times, then addressed to each meter that
 * still missed it), and the read-back of each meter's result (which also lets a new program
 * confirm itself). Abort conditions: a deadline, a maximum number of rounds, no progress
 * for R rounds, and a per-meter no-answer limit (that meter fails, the rest go on).
 *
 * Per-meter state lives in typed arrays (one byte or word per meter): 1,000 meters cost a
 * few kilobytes. The repair step is a strategy (RepairStrategy): the union re-broadcast
 * here; a coded repair can replace it without touching the rest.
 */
import type { Clock } from "../../hal/types";
import { Err } from "../common/errors";
import { decodeSession, encodeSession, SESSION_SIZE, type Session } from "../common/update-image";
import { getU32, putU32 } from "../common/bytes";
import { P, T } from "../protocol/catalogue";
import { Msg, newMsg, setMsg } from "../protocol/codec";
import { forEachMissing, isSet, setBit } from "../protocol/missing";
import type { Endpoint } from "../link/endpoint";

/** Final and running states per meter: the DLMS image-transfer states plus ours. */
export const enum Ms {
  SELECTED = 0,
  DOWNLOADING = 1,
  COMPLETE = 3,
  ACTIVATING = 5,
  ACTIVATED = 6,
  FAILED = 8,
  REVERTED = 9,
}

/** Campaign phases. */
export const enum Ph { IDLE = 0, CONTROL = 1, BROADCAST = 2, POLL = 3, REPAIR = 4, ACTIVATE = 5, READBACK = 6, DONE = 7, ABORTED = 8, PAUSED = 9 }

export interface CampaignConfig {
  session: Session;
  /** Block i of the image (on the device: a Storage file read). */
  block(i: number): Uint8Array;
  meters: number[];
  /** Milliseconds from start; 0 = none. */
  deadlineMs: number;
  maxRounds: number;
  /** Abort when no meter progressed for this many rounds. */
  noProgressRounds: number;
  /** A meter that leaves this many requests unanswered in a row fails... */
  maxNoAnswer: number;
  /** ...once it has also been silent this long (ms; 0 or absent: the count alone), so a meter that is off for a while is waited for. */
  silentMs?: number;
  /** Wait for an answer this long before asking again. */
  answerMs: number;
  /** Quiet time after ACTIVATE while meters restart. */
  rebootMs: number;
  /** Activation time for ACTIVATE (Unix s), 0 = at once. */
  activateAt: number;
  /** The concentrator's wall clock (Unix s), needed to wait for a scheduled activation. */
  nowUnix?: () => number;
  /** Observer (host tools and tests): a status query to `id` in `round`. */
  onPoll?: (id: number, round: number) => void;
  /** Line bit rate for the airtime estimate (0: none) and bytes each frame costs besides its payload. */
  lineBitRate?: number;
  frameOverhead?: number;
  /** Selection by group: the control goes to this group address first, then to each member until it answers. */
  group?: number;
  /**
   * The head-end's authorisation for meter `id`: kind (1 install, 2 rollback) then the
   * 16-byte tag, relayed in an AUTHORIZE before its control; null: none for it (a keyed
   * meter then fails with AUTH_NO_TAG). Absent: no authorisations (meters without keys).
   */
  authorise?: (id: number) => Uint8Array | null;
  /** Where the campaign checkpoints its state (after the controls, each round, activation, the end). */
  checkpoint?: { save(body: Uint8Array): number };
}

export interface RepairStrategy {
  /** Blocks to broadcast this round, given the union of reported missing blocks. */
  blocks(missing: Uint8Array, count: number): number[];
}

/** ACTIVATE broadcasts at most, for meters that keep missing it. */
export var MAX_ACTIVATIONS = 3;

export var unionRepair: RepairStrategy = {
  blocks: function (missing, count) {
    var out: number[] = [];
    for (var i = 0; i < count; i++) if (isSet(missing, i)) out.push(i);
    return out;
  },
};

/**
 * What the campaign put on the line: frames, bytes, and its airtime estimated from the
 * line's bit rate and per-frame overhead (CampaignConfig.lineBitRate, frameOverhead).
 */
export interface CampaignTotals { frames: number; bytes: number; airtimeMs: number; blocks: number; polls: number; rounds: number; noAnswers: number }

export interface Campaign {
  start(): void;
  pause(): void;
  resume(): void;
  abort(code: number): void;
  /** Routes a message from a meter; true when it was the campaign's. */
  onMessage(m: Msg): boolean;
  /** Call from the endpoint's `sent` event: paces the broadcast. */
  onSent(): void;
  phase(): number;
  /** Meters in the campaign; state(i) for i below it. */
  meterCount(): number;
  state(i: number): number;
  /** Error code behind meter i's failure or revert, else 0. */
  codeOf(i: number): number;
  code(): number;
  totals: CampaignTotals;
}

/** Session and meter list of a checkpoint, to rebuild the configuration it was made with. */
export function checkpointInfo(b: Uint8Array): { session: Session; meters: number[] } | null {
  if (b.length < SESSION_SIZE + 8) return null;
  var s = decodeSession(b.subarray(0, SESSION_SIZE));
  var n = b[SESSION_SIZE + 4] | (b[SESSION_SIZE + 5] << 8);
  if (!s || b.length < SESSION_SIZE + 8 + 8 * n) return null;
  var ids: number[] = [];
  for (var i = 0; i < n; i++) ids.push(getU32(b, SESSION_SIZE + 8 + 4 * i));
  return { session: s, meters: ids };
}

/**
 * A campaign. With `restore` (a checkpoint body made for the same session and meters) it
 * continues where the checkpoint left it: polls first, so only what the meters still miss
 * is broadcast again.
 */
export function campaign(ep: Endpoint, clock: Clock, cfg: CampaignConfig, repair: RepairStrategy, finished: (code: number) => void, restore?: Uint8Array): Campaign {
  var s = cfg.session, n = cfg.meters.length;
  var st = new Uint8Array(n), quiet = new Uint8Array(n), codes = new Uint16Array(n);
  // when each meter last answered, in seconds from the start
  var heardAt = new Uint32Array(n);
  // meters whose AUTHORIZE was acknowledged, and whether the request out is an AUTHORIZE
  var authd = new Uint8Array(n), asking = 0;
  // whether anyone answered in this pass or round, and how many passes in a row nobody did
  var heard = false, silent = 0;
  var missing = new Uint8Array((s.blockCount + 7) >> 3);
  var queue: number[] = [];
  var ph = Ph.IDLE as number, paused = -1, result = 0, round = 0, stale = 0, lastMissing = -1, activations = 0;
  var cur = -1, timer = 0, waitSeq = -1, seq = 0, startedAt = 0;
  var totals: CampaignTotals = { frames: 0, bytes: 0, airtimeMs: 0, blocks: 0, polls: 0, rounds: 0, noAnswers: 0 };
  var tx = newMsg();

  function send(mode: number, dst: number, type: number, body: any): number {
    seq = (seq + 1) & 0xffff;
    var e = ep.send(setMsg(tx, type, seq, P.BROADCAST_ID, mode, dst, body));
    if (!e) {
      totals.frames++;
      totals.bytes += ep.lastLength();
      if (cfg.lineBitRate) totals.airtimeMs += ((ep.lastLength() + (cfg.frameOverhead || 0)) * 8000) / cfg.lineBitRate;
    }
    return e;
  }

  function arm(ms: number, fn: () => void): void {
    if (timer) clock.clear(timer);
    timer = clock.setTimeout(function () { timer = 0; fn(); }, ms);
  }

  function finish(code: number): void {
    if (timer) clock.clear(timer);
    timer = 0;
    result = code;
    ph = code ? Ph.ABORTED : Ph.DONE;
    save();
    finished(code);
  }

  // checkpoint: session | phase u8 | activations u8 | round u16 | n u16 | result u16 |
  //             ids u32 x n | state u8 x n | quiet u8 x n | code u16 x n, padded to words
  var ck = cfg.checkpoint ? new Uint8Array((SESSION_SIZE + 8 + 8 * n + 3) & ~3) : null;
  function save(): void {
    if (!ck || !cfg.checkpoint) return;
    ck.set(encodeSession(s), 0);
    var o = SESSION_SIZE;
    ck[o] = ph; ck[o + 1] = activations;
    ck[o + 2] = round & 0xff; ck[o + 3] = round >> 8;
    ck[o + 4] = n & 0xff; ck[o + 5] = n >> 8;
    ck[o + 6] = result & 0xff; ck[o + 7] = result >> 8;
    o += 8;
    for (var i = 0; i < n; i++) {
      putU32(ck, o + 4 * i, cfg.meters[i]);
      ck[o + 4 * n + i] = st[i];
      ck[o + 5 * n + i] = quiet[i];
      ck[o + 6 * n + 2 * i] = codes[i] & 0xff;
      ck[o + 6 * n + 2 * i + 1] = codes[i] >> 8;
    }
    cfg.checkpoint.save(ck);
  }

  function checkDeadline(): boolean {
    if (cfg.deadlineMs && clock.now() - startedAt > cfg.deadlineMs) { finish(Err.CAMPAIGN_DEADLINE); return true; }
    return false;
  }

  function controlBody(): any {
    return { imageId: s.imageId, version: s.version, board: s.board, size: s.size, blockSize: s.blockSize, blockCount: s.blockCount, digest: s.digest, activateAt: 0, start: 1 };
  }

  /** The next meter index from `from` still in state `want`, or -1. */
  function nextIn(from: number, want: number): number {
    for (var i = from; i < n; i++) if (st[i] === want) return i;
    return -1;
  }

  /** Sends a unicast request to meter i and waits; no answer counts toward its limit. */
  function ask(i: number, type: number, body: any, onTimeout: () => void): void {
    cur = i;
    if (send(P.TO_METER, cfg.meters[i], type, body)) { arm(50, function () { ask(i, type, body, onTimeout); }); return; }
    waitSeq = seq;
    arm(cfg.answerMs, function () {
      waitSeq = -1;
      totals.noAnswers++;
      if (quiet[i] < 255) quiet[i]++;
      if (quiet[i] >= cfg.maxNoAnswer && clock.now() - startedAt - heardAt[i] * 1000 >= (cfg.silentMs || 0)) { st[i] = Ms.FAILED; codes[i] = Err.CAMPAIGN_NO_ANSWER; }
      onTimeout();
    });
  }

  /**
   * The end of a pass over the meters in state `want`: false when none is left; else
   * another pass from the first, after a pause that doubles (up to a minute) for each pass
   * in a row in which nobody answered, so meters that are off are waited for, not flooded.
   */
  function nextPass(want: number, fn: (from: number) => void): boolean {
    if (nextIn(0, want) < 0) return false;
    endPass();
    arm(silent ? Math.min(cfg.answerMs * (1 << silent), 60000) : cfg.answerMs / 4, function () { fn(0); });
    return true;
  }

  /** Counts a pass or round: silent when nobody answered in it. */
  function endPass(): void {
    if (heard) silent = 0;
    else if (silent < 5) silent++;
    heard = false;
  }

  // ---- control: each selected meter, in passes, until it answers or fails
  function control(from: number): void {
    if (paused >= 0 || checkDeadline()) return;
    ph = Ph.CONTROL;
    var i = nextIn(from, Ms.SELECTED);
    if (i < 0) {
      if (nextPass(Ms.SELECTED, control)) return;
      // nobody took the control (refused, unauthorised, silent): nothing to broadcast
      if (nextIn(0, Ms.DOWNLOADING) < 0) { finish(0); return; }
      broadcastAll();
      return;
    }
    asking = 0;
    if (cfg.authorise && !authd[i]) {
      var t = cfg.authorise(cfg.meters[i]);
      if (!t) { st[i] = Ms.FAILED; codes[i] = Err.AUTH_NO_TAG; control(i + 1); return; }
      asking = T.AUTHORIZE;
      ask(i, T.AUTHORIZE, { imageId: s.imageId, version: s.version, kind: t[0], digest: s.digest, tag: t.subarray(1) }, function () { control(i + 1); });
      return;
    }
    ask(i, T.UPDATE_CONTROL, controlBody(), function () { control(i + 1); });
  }

  // ---- broadcast: the whole image, then the repair rounds, paced by the endpoint
  function broadcastAll(): void {
    save();
    queue = [];
    for (var b = 0; b < s.blockCount; b++) queue.push(b);
    ph = Ph.BROADCAST;
    pump();
  }

  function pump(): void {
    if (paused >= 0 || (ph !== Ph.BROADCAST && ph !== Ph.REPAIR)) return;
    while (queue.length && ep.pending() < 2) {
      var b = queue[0];
      if (send(P.TO_ALL, P.BROADCAST_ID, T.DATA_BLOCK, { imageId: s.imageId, index: b, data: cfg.block(b) })) break;
      queue.shift();
      totals.blocks++;
    }
    if (!queue.length && ep.pending() === 0) {
      if (checkDeadline()) return;
      // let the last frame clear the line before asking
      arm(cfg.answerMs / 4, startRound);
    }
  }

  // ---- poll: every unfinished meter in turn; finished ones are never asked again
  function startRound(): void {
    round++;
    totals.rounds = round;
    for (var k = 0; k < missing.length; k++) missing[k] = 0;
    ph = Ph.POLL;
    poll(0);
  }

  function poll(from: number): void {
    if (paused >= 0 || checkDeadline()) return;
    var i = nextIn(from, Ms.DOWNLOADING);
    if (i < 0) { endRound(); return; }
    totals.polls++;
    if (cfg.onPoll) cfg.onPoll(cfg.meters[i], round);
    ask(i, T.STATUS_QUERY, { imageId: s.imageId }, function () { poll(i + 1); });
  }

  function endRound(): void {
    var left = 0, total = 0;
    for (var i = 0; i < n; i++) if (st[i] === Ms.DOWNLOADING) left++;
    if (!left) { activate(); return; }
    // nobody answered: the meters are off or out of reach for now; wait longer, and it is not a round without progress
    if (!heard) { endPass(); arm(Math.min(cfg.answerMs * (1 << silent), 60000), startRound); return; }
    endPass();
    // progress: fewer unfinished meters, or fewer blocks missing among them
    for (var b = 0; b < s.blockCount; b++) if (isSet(missing, b)) total++;
    total += left * 65536;
    if (lastMissing >= 0 && total >= lastMissing) stale++;
    else stale = 0;
    lastMissing = total;
    var blocks = repair.blocks(missing, s.blockCount);
    if (cfg.noProgressRounds && stale >= cfg.noProgressRounds) { finish(Err.CAMPAIGN_NO_PROGRESS); return; }
    if (round >= cfg.maxRounds) { finish(Err.CAMPAIGN_MAX_ROUNDS); return; }
    save();
    queue = blocks;
    ph = Ph.REPAIR;
    if (!queue.length) { arm(cfg.answerMs, startRound); return; }
    pump();
  }

  // ---- activation and read-back
  function activate(): void {
    ph = Ph.ACTIVATE;
    for (var i = 0; i < n; i++) if (st[i] === Ms.COMPLETE) st[i] = Ms.ACTIVATING;
    if (nextIn(0, Ms.ACTIVATING) < 0) { finish(0); return; }
    save();
    send(P.TO_ALL, P.BROADCAST_ID, T.ACTIVATE, { imageId: s.imageId, at: cfg.activateAt });
    awaitRestarts();
  }

  /** A scheduled activation: wait until it is due, then for the restarts, then read back. */
  function awaitRestarts(): void {
    var wait = cfg.activateAt && cfg.nowUnix ? Math.max(0, cfg.activateAt - cfg.nowUnix()) * 1000 : 0;
    arm(wait + cfg.rebootMs, function () { ph = Ph.READBACK; readback(0); });
  }

  function readback(from: number): void {
    if (paused >= 0 || checkDeadline()) return;
    var i = nextIn(from, Ms.ACTIVATING);
    if (i < 0) {
      if (nextPass(Ms.ACTIVATING, readback)) return;
      // meters that missed the ACTIVATE broadcast get it again, a bounded number of times,
      // then each one that still missed it gets its own
      if (nextIn(0, Ms.COMPLETE) >= 0) {
        if (++activations < MAX_ACTIVATIONS) { activate(); return; }
        if (activations === MAX_ACTIVATIONS) { ph = Ph.ACTIVATE; activateEach(0); return; }
      }
      for (var k = 0; k < n; k++) if (st[k] === Ms.COMPLETE) { st[k] = Ms.FAILED; codes[k] = Err.UPDATE_NOT_VERIFIED; }
      finish(0);
      return;
    }
    ask(i, T.STATUS_QUERY, { imageId: s.imageId }, function () { readback(i + 1); });
  }

  /** ACTIVATE to each meter still waiting for it, until it answers or fails; then the read-back. */
  function activateEach(from: number): void {
    if (paused >= 0 || checkDeadline()) return;
    var i = nextIn(from, Ms.COMPLETE);
    if (i < 0) { if (!nextPass(Ms.COMPLETE, activateEach)) awaitRestarts(); return; }
    ask(i, T.ACTIVATE, { imageId: s.imageId, at: cfg.activateAt }, function () { activateEach(i + 1); });
  }

  function answered(i: number): void {
    if (timer) clock.clear(timer);
    timer = 0;
    waitSeq = -1;
    quiet[i] = 0;
    heard = true;
    heardAt[i] = Math.floor((clock.now() - startedAt) / 1000);
  }

  function onMessage(m: Msg): boolean {
    var i = cur;
    if (i < 0 || m.src !== cfg.meters[i] || waitSeq < 0) return false;
    var b = m.body;
    var isReply = (m.type === T.ACK || m.type === T.ERROR) ? b.refSeq === waitSeq : b.imageId === s.imageId;
    if (!isReply) return false;
    if (ph === Ph.CONTROL) {
      answered(i);
      if (m.type !== T.ACK) { st[i] = Ms.FAILED; codes[i] = m.type === T.ERROR ? b.code : Err.BAD_ARG; control(i + 1); }
      // authorised: now its control
      else if (asking === T.AUTHORIZE) { authd[i] = 1; control(i); }
      else { st[i] = Ms.DOWNLOADING; control(i + 1); }
    } else if (ph === Ph.POLL) {
      answered(i);
      if (m.type === T.DOWNLOAD_COMPLETE) st[i] = Ms.COMPLETE;
      else if (m.type === T.STATUS_REPORT) {
        if (forEachMissing(b, s.blockCount, function (k) { setBit(missing, k); })) { st[i] = Ms.FAILED; codes[i] = Err.PROTO_BAD_FIELD; }
        // blocks past the report's window: ask for them again next round (nothing to add)
      } else if (m.type === T.ERROR) { st[i] = Ms.FAILED; codes[i] = b.code; }
      poll(i + 1);
    } else if (ph === Ph.ACTIVATE) {
      if (m.type !== T.ACK && m.type !== T.ERROR) return false;
      answered(i);
      if (m.type === T.ACK) st[i] = Ms.ACTIVATING;
      else { st[i] = Ms.FAILED; codes[i] = b.code; }
      activateEach(i + 1);
    } else if (ph === Ph.READBACK) {
      answered(i);
      if (m.type === T.UPDATE_RESULT) {
        st[i] = b.outcome === 1 ? Ms.ACTIVATED : b.outcome === 2 ? Ms.REVERTED : Ms.FAILED;
        codes[i] = b.code;
      } else if (m.type === T.DOWNLOAD_COMPLETE) st[i] = Ms.COMPLETE; // it missed the ACTIVATE
      else { st[i] = Ms.FAILED; codes[i] = m.type === T.ERROR ? b.code : Err.BAD_ARG; }
      readback(i + 1);
    } else return false;
    return true;
  }

  return {
    totals: totals,
    start: function () {
      if (ph !== Ph.IDLE) return;
      startedAt = clock.now();
      if (!restore) {
        // members of the group take the control at once; each then confirms it by answering
        if (cfg.group) send(P.TO_GROUP, cfg.group, T.UPDATE_CONTROL, controlBody());
        control(0);
        return;
      }
      var o = SESSION_SIZE, was = restore[o];
      activations = restore[o + 1];
      round = restore[o + 2] | (restore[o + 3] << 8);
      totals.rounds = round;
      for (var i = 0; i < n; i++) {
        st[i] = restore[o + 8 + 4 * n + i];
        quiet[i] = restore[o + 8 + 5 * n + i];
        codes[i] = restore[o + 8 + 6 * n + 2 * i] | (restore[o + 8 + 6 * n + 2 * i + 1] << 8);
      }
      if (was === Ph.DONE || was === Ph.ABORTED) { ph = was; result = restore[o + 6] | (restore[o + 7] << 8); finished(result); }
      else if (was === Ph.CONTROL || nextIn(0, Ms.SELECTED) >= 0) control(0);
      else if (was === Ph.ACTIVATE || was === Ph.READBACK) { ph = Ph.READBACK; readback(0); }
      // downloading: ask first, so only what the meters still miss goes out again
      else startRound();
    },
    pause: function () { if (paused < 0 && ph !== Ph.DONE && ph !== Ph.ABORTED) { paused = ph; if (timer) clock.clear(timer); timer = 0; waitSeq = -1; } },
    resume: function () {
      if (paused < 0) return;
      var was = paused;
      paused = -1;
      if (was === Ph.CONTROL) control(cur < 0 ? 0 : cur);
      else if (was === Ph.BROADCAST || was === Ph.REPAIR) pump();
      else if (was === Ph.POLL) poll(cur < 0 ? 0 : cur);
      else if (was === Ph.ACTIVATE || was === Ph.READBACK) { ph = Ph.READBACK; readback(0); }
    },
    abort: function (code) {
      if (ph === Ph.DONE || ph === Ph.ABORTED) return;
      send(P.TO_ALL, P.BROADCAST_ID, T.ABORT, { imageId: s.imageId, reason: code });
      finish(code || Err.CAMPAIGN_ABORTED);
    },
    onMessage: onMessage,
    onSent: pump,
    phase: function () { return paused >= 0 ? Ph.PAUSED : ph; },
    meterCount: function () { return n; },
    state: function (i) { return st[i]; },
    codeOf: function (i) { return codes[i]; },
    code: function () { return result; },
  };
}
