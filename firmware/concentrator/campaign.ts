/*
 * The broadcast update campaign, in two methods (CampaignConfig.coded).
 *
 * The patent's method: send the update control to the
 * selected meters, broadcast all N data blocks paced to the modem, then poll the unfinished
 * meters one after another for their missing blocks, broadcast the union of what they
 * report, and repeat; a meter that reports download complete is never polled again. Then
 * activation (broadcast, up to MAX_ACTIVATIONS times, then addressed to each meter that
 * still missed it), and the read-back of each meter's result (which also lets a new program
 * confirm itself). Abort conditions: a deadline, a maximum number of rounds, no progress
 * for R rounds, and a per-meter no-answer limit (that meter fails, the rest go on).
 *
 * Per-meter state lives in typed arrays (one byte or word per meter): 1,000 meters cost a
 * few kilobytes. The repair step is a strategy (RepairStrategy): the union re-broadcast.
 *
 * The coded method (docs/update.md, "Coded campaign") changes what goes on the line, not
 * the phases:
 * - control: the selection (SELECT_LIST frames, or the group) and UPDATE_CONTROL go out as
 *   broadcasts, twice; keyed meters first get their head-end authorisation addressed to
 *   them. One GROUP_QUERY then finds the selected meters without a session (they missed or
 *   refused the control): those get the control addressed to them;
 * - broadcast: the K blocks, then repair blocks (protocol/repair.ts) for the loss the
 *   concentrator expects, so most meters finish with no repair round;
 * - poll: one GROUP_QUERY a round, answered in random slots by the unfinished meters only,
 *   each with its deficit (useful repair blocks it still needs, and its free slots); the
 *   round's repair blocks are sized from the largest deficit heard. A meter whose deficit
 *   exceeds its room is a straggler: it is asked on its own (STATUS_QUERY) and its missing
 *   blocks go out plain, as in the patent's method;
 * - a round in which no unfinished meter answers leads to activation; silence proves
 *   nothing, so the read-back asks every meter on its own, and one still downloading goes
 *   back to the rounds.
 */
import type { Clock } from "../../hal/types";
import { Err } from "../common/errors";
import { decodeSession, encodeSession, SESSION_SIZE, type Session } from "../common/update-image";
import { getU16, getU32, putU16, putU32, U8, floor, sub, U32, math } from "../common/bytes";
import { P, T, Uo, Ust, Who } from "../protocol/catalogue";
import { Msg, newMsg, setMsg } from "../protocol/codec";
import { forEachMissing, isSet, setBit } from "../protocol/missing";
import { Rc, repairIndex, repairSets, xorInto } from "../protocol/repair";
import type { Endpoint } from "../link/endpoint";

/** Final and running states per meter: the DLMS image-transfer states plus ours. */
export const enum Ms {
  SELECTED = 0,
  DOWNLOADING = 1,
  /** It accepted a check-only control (start = 0): it would take the image; nothing was stored. */
  CHECKED = 2,
  COMPLETE = 3,
  ACTIVATING = 5,
  ACTIVATED = 6,
  FAILED = 8,
  REVERTED = 9,
}

/** Campaign phases. */
export const enum Ph { IDLE = 0, CONTROL = 1, BROADCAST = 2, POLL = 3, REPAIR = 4, ACTIVATE = 5, READBACK = 6, DONE = 7, ABORTED = 8, PAUSED = 9 }

/** Ph's names, by value: the console's progress line and the host's reports. */
export var PHASE_NAMES = ["idle", "control", "broadcast", "poll", "repair", "activate", "read-back", "done", "aborted", "paused"];

/**
 * Ms's names, by value (host reports; the device does not carry it: ES5's computed keys
 * become assignments, which the bundler keeps unless the pure call around them is unused).
 */
export var STATE_NAMES: { [s: number]: string } = /*#__PURE__*/ (function () {
  return {
    [Ms.SELECTED]: "selected", [Ms.DOWNLOADING]: "downloading", [Ms.CHECKED]: "checked", [Ms.COMPLETE]: "complete",
    [Ms.ACTIVATING]: "activating", [Ms.ACTIVATED]: "activated", [Ms.FAILED]: "failed", [Ms.REVERTED]: "reverted",
  };
})();

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
  /** Line bit rate for the airtime estimate and answer times (0: none) and bytes each frame costs besides its payload. */
  lineBitRate?: number;
  frameOverhead?: number;
  /** Baud rate between a host and its modem (answer times; default 9,600). */
  hostBaud?: number;
  /** Selection by group: the control goes to this group address first, then to each member until it answers. */
  group?: number;
  /**
   * The head-end's authorisation for meter `id`: kind (1 install, 2 rollback), the 16-byte
   * tag, then the campaign's block key wrapped for that meter (16), relayed in an AUTHORIZE
   * before its control; null: none for it (a keyed meter then fails with AUTH_NO_TAG).
   * Absent: no authorisations (meters without keys).
   */
  authorise?: (id: number) => Uint8Array | null;
  /** With `authorise`: the campaign's block key, which signs its broadcast blocks (docs/security.md). */
  blockKey?: Uint8Array;
  /** Where the campaign checkpoints its state (after the controls, each round, activation, the end). */
  checkpoint?: { save(body: Uint8Array): number };
  /** The coded method (true) or the patent's (absent or false). */
  coded?: boolean;
  /** Coded method: the frame loss the concentrator expects (0..0.5; default 0.1), for the first pass and each round's margin. */
  planLoss?: number;
  /** Only ask each meter whether it would take the image (control with start = 0); nothing is downloaded. */
  onlyCheck?: boolean;
  /** A code for a meter known beforehand not to take the image (it fails with it and is sent nothing), or 0. */
  refuse?: (id: number) => number;
}

/** Coded method: broadcast queue entries beside block numbers (below 0x10000). */
const enum Q { REPAIR = 0x10000, SELECT = 0x20000, CONTROL = 0x30000, ACTIVATE = 0x40000, AUTH = 0x50000, KIND = 0xff0000 }
/** Meter ids a SELECT_LIST frame carries: (242 - 14 header - 3) / 4. */
export var SELECT_PER_FRAME = 56;
/** Meter ids a RESULT_LIST frame carries: (242 - 14 header - 7) / 4. */
export var RESULT_PER_FRAME = 55;
/** Read-back lists a meter may miss before it is asked by address (silence is never taken for an answer). */
export var LIST_TRIES = 2;
/** A RESULT_LIST entry whose meter answered. */
var ANSWERED = 0xffff;
/** Authorisations an AUTHORIZE_LIST frame carries: (242 - 14 header - 49) / 37 (id, kind, 16-byte tag, 16-byte wrapped block key). */
export var AUTH_PER_FRAME = 4;
/**
 * Coded method: the selection and the control are broadcast until a meter that misses
 * every copy is unlikely (n p^r below LATE_METERS): one that does must be caught up with a
 * download of its own, about K / (1 - p) block frames, where a copy costs a frame or two.
 */
export var LATE_METERS = 0.1;
export var MAX_CONTROL_REPEATS = 8;
/** The degree of a repair block is about LAMBDA K / deficit: about 6 of the meter's missing blocks in each (docs/update.md). */
export var LAMBDA = 6;

export interface RepairStrategy {
  /** Blocks to broadcast this round, given the union of reported missing blocks. */
  blocks(missing: Uint8Array, count: number): number[];
}

/** ACTIVATE broadcasts at most, for meters that keep missing it. */
export var MAX_ACTIVATIONS = 3;

/**
 * How long an answer of `reply` bytes to a request of `request` bytes takes once the
 * request has left the concentrator's modem: the request over the meter's modem link, the
 * meter program (PROGRAM_MS), the reply over the link and on the line (`bitRate` bit/s,
 * `overhead` bytes a frame), and over the concentrator's modem link (`hostBaud`, 10 bits
 * a byte). Without a bit rate: 3 s. The campaign waits this long for each answer, sized
 * for the reply it expects (SMALL_REPLY, or a full frame for a missing-block report).
 */
/*
 * The meter's own part of an answer: its interpreter taking the frame, the program, the
 * modem handshakes. 50 ms (a guess that the simulator, answering at once, never tested)
 * was far too short on the real interpreter: in bench:real every read-back answer came
 * after the wait had ended, and the campaign asked again for ever. A wait ends as soon as
 * the answer comes, so a longer one costs time only for answers that never come.
 */
export var PROGRAM_MS = 500;
export var SMALL_REPLY = P.HEADER + 9 + P.TRAILER;
export function answerTimeMs(bitRate: number, overhead: number, hostBaud: number, request: number, reply: number): number {
  if (!bitRate) return 3000;
  return math.ceil(((reply + overhead) * 8000) / bitRate + ((request + 2 * reply) * 10000) / (hostBaud || 9600)) + PROGRAM_MS;
}
/** How long the campaign waits after ACTIVATE before the read-back: the restart delay, the boot routine, the modem's reset. */
export var REBOOT_WAIT_MS = 20000;

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
export interface CampaignTotals {
  frames: number; bytes: number; airtimeMs: number; blocks: number; polls: number; rounds: number; noAnswers: number;
  /** Coded: the loss the repair rounds plan for, in %: the configuration's, then the one the unfinished meters saw in the first pass. */
  lossPct: number;
}

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

/**
 * A checkpoint's body, the one layout written by writeCheckpoint and read by readCheckpoint:
 *   session | phase u8 | activations u8 (bit 7: coded) | round u16 | n u16 | result u16 |
 *   ids u32 x n | state u8 x n | quiet u8 x n | code u16 x n, padded to words
 */
export interface CheckpointBody {
  session: Session;
  phase: number;
  activations: number;
  coded: boolean;
  round: number;
  result: number;
  meters: number[];
  /** Per meter: its Ms state, its quiet rounds, its error code. */
  states: Uint8Array;
  quiet: Uint8Array;
  codes: number[];
}

var CK_HEAD = SESSION_SIZE + 8;

/** Session, meter list and method of a checkpoint, to rebuild the configuration it was made with. */
export function checkpointInfo(b: Uint8Array): { session: Session; meters: number[]; coded: boolean } | null {
  var c = readCheckpoint(b);
  return c ? { session: c.session, meters: c.meters, coded: c.coded } : null;
}

/** Bytes of the body of a checkpoint of n meters. */
export function checkpointSize(n: number): number {
  return (CK_HEAD + 8 * n + 3) & ~3;
}

/**
 * Writes a checkpoint body into `ck` (checkpointSize(meters.length) bytes): the fields of
 * CheckpointBody, as arguments (a save allocates nothing).
 */
export function writeCheckpoint(ck: Uint8Array, s: Session, phase: number, activations: number, coded: boolean, round: number, result: number,
  meters: number[], states: Uint8Array, quiet: Uint8Array, codes: Uint16Array): void {
  var n = meters.length;
  ck.set(encodeSession(s), 0);
  ck[SESSION_SIZE] = phase;
  ck[SESSION_SIZE + 1] = activations | (coded ? 0x80 : 0);
  putU16(ck, SESSION_SIZE + 2, round);
  putU16(ck, SESSION_SIZE + 4, n);
  putU16(ck, SESSION_SIZE + 6, result);
  for (var i = 0; i < n; i++) {
    putU32(ck, CK_HEAD + 4 * i, meters[i]);
    ck[CK_HEAD + 4 * n + i] = states[i];
    ck[CK_HEAD + 5 * n + i] = quiet[i];
    putU16(ck, CK_HEAD + 6 * n + 2 * i, codes[i]);
  }
}

/** A checkpoint body read back, or null when it is too short or its session does not decode. */
export function readCheckpoint(b: Uint8Array): CheckpointBody | null {
  if (b.length < CK_HEAD) return null;
  var s = decodeSession(sub(b, 0, SESSION_SIZE)), n = getU16(b, SESSION_SIZE + 4);
  if (!s || b.length < CK_HEAD + 8 * n) return null;
  var ids: number[] = [], codes: number[] = [];
  for (var i = 0; i < n; i++) {
    ids.push(getU32(b, CK_HEAD + 4 * i));
    codes.push(getU16(b, CK_HEAD + 6 * n + 2 * i));
  }
  return {
    session: s, phase: b[SESSION_SIZE], activations: b[SESSION_SIZE + 1] & 0x7f, coded: (b[SESSION_SIZE + 1] & 0x80) !== 0,
    round: getU16(b, SESSION_SIZE + 2), result: getU16(b, SESSION_SIZE + 6), meters: ids,
    states: sub(b, CK_HEAD + 4 * n, CK_HEAD + 5 * n), quiet: sub(b, CK_HEAD + 5 * n, CK_HEAD + 6 * n), codes: codes,
  };
}

/**
 * A campaign. With `restore` (a checkpoint body made for the same session and meters) it
 * continues where the checkpoint left it: polls first, so only what the meters still miss
 * is broadcast again.
 */
export function campaign(ep: Endpoint, clock: Clock, cfg: CampaignConfig, repair: RepairStrategy, finished: (code: number) => void, restore?: Uint8Array): Campaign {
  var s = cfg.session, n = cfg.meters.length;
  var st = new U8(n), quiet = new U8(n), codes = new Uint16Array(n);
  // when each meter last answered, in seconds from the start
  var heardAt = new U32(n);
  // meters whose AUTHORIZE was acknowledged (1; 2: and a control addressed to them), and whether the request out is an AUTHORIZE
  var authd = new U8(n), asking = 0;
  // whether anyone answered in this pass or round, and how many passes in a row nobody did
  var heard = false, silent = 0, byAddress = false;
  var missing = new U8((s.blockCount + 7) >> 3);
  // the broadcast queue, and whether it is being sent (pump acts only then); the meters the broadcast control goes to
  var queue: number[] = [], pumping = false, chosen = new Uint16Array(cfg.coded ? n : 0), nChosen = 0;
  var ph = Ph.IDLE as number, paused = -1, result = 0, round = 0, stale = 0, lastMissing = -1, activations = 0;
  var cur = -1, timer = 0, waitSeq = -1, seq = 0, startedAt = 0;
  var totals: CampaignTotals = { frames: 0, bytes: 0, airtimeMs: 0, blocks: 0, polls: 0, rounds: 0, noAnswers: 0, lossPct: 0 };
  var tx = /*@__NOINLINE__*/ newMsg();
  // coded method: control still to broadcast, stragglers (served plain), the round's
  // largest deficit and answers, the next serial per degree, the repair block being built
  var coded = !!cfg.coded && !cfg.onlyCheck, bcast = coded, first = true;
  var loss = cfg.planLoss === undefined ? 0.1 : math.min(0.5, math.max(0, cfg.planLoss));
  totals.lossPct = Math.round(loss * 100);
  // `found`: meters the read-back found still downloading, so the next group query has slots for them
  var plain = new U8(coded ? n : 0), maxNeed = 0, unfinished = 0, straggling = 0, found = 0;
  // the loss the unfinished meters saw in the first pass (1 - its blocks they hold), summed
  // over the seenN of them; -1 once it has sized a round (heard in the first query after the first pass only)
  var seenLoss = 0, seenN = 0;
  var serials = new U8(coded ? Rc.MAX_DEGREE + 1 : 0);
  var sets = coded ? repairSets(s.blockCount) : null, rbuf = new U8(coded ? s.blockSize : 0);
  // coded, unkeyed: the read-back goes out in RESULT_LISTs; the meters of the one out (ANSWERED once answered) and its seq
  var lists = coded && !cfg.authorise, lst = new Uint16Array(lists ? RESULT_PER_FRAME : 0), nLst = 0, lstSeq = -1;

  /** Sends a message to `dst` in `mode`; without `dst`, to all. */
  function send(type: number, body: any, mode?: number, dst?: number): number {
    seq = (seq + 1) & 0xffff;
    var e = ep.send(setMsg(tx, type, seq, P.BROADCAST_ID, dst === undefined ? P.TO_ALL : mode!, dst === undefined ? P.BROADCAST_ID : dst, body));
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
    nLst = 0;
    result = code;
    ph = code ? Ph.ABORTED : Ph.DONE;
    save();
    finished(code);
  }

  // the checkpoint: one buffer, written over at each save (writeCheckpoint's layout)
  var ck = cfg.checkpoint ? new U8(checkpointSize(n)) : null;
  function save(): void {
    if (!ck || !cfg.checkpoint) return;
    writeCheckpoint(ck, s, ph, activations, coded, round, result, cfg.meters, st, quiet, codes);
    cfg.checkpoint.save(ck);
  }

  function checkDeadline(): boolean {
    if (cfg.deadlineMs && clock.now() - startedAt > cfg.deadlineMs) { finish(Err.CAMPAIGN_DEADLINE); return true; }
    return false;
  }

  function controlBody(): any {
    // the control carries the update time and the start command (claim 4): start = 0 only checks
    return { imageId: s.imageId, version: s.version, board: s.board, size: s.size, blockSize: s.blockSize, blockCount: s.blockCount, digest: s.digest, activateAt: cfg.activateAt, start: cfg.onlyCheck ? 0 : 1 };
  }

  /** The next meter index from `from` still in state `want`, or -1. */
  function nextIn(from: number, want: number): number {
    for (var i = from; i < n; i++) if (st[i] === want) return i;
    return -1;
  }

  /** Meters a control pass still has to reach (none before the broadcast control). */
  function nextControl(from: number): number {
    return bcast ? -1 : nextIn(from, Ms.SELECTED);
  }

  function queueRepairs(count: number, need: number): void {
    var d = math.max(1, math.min(Rc.MAX_DEGREE, Math.round((LAMBDA * s.blockCount) / math.max(1, need))));
    for (var r = 0; r < count; r++) {
      // a degree whose serials are spent moves to the next one
      while (serials[d] > Rc.MAX_SERIAL - 1 && d < Rc.MAX_DEGREE) d++;
      queue.push(Q.REPAIR | repairIndex(d, serials[d]++));
    }
  }

  /** Repair block j of the image, in a buffer reused for each. */
  function repairBlock(j: number): Uint8Array {
    var c = (sets as any).set(j);
    for (var k = 0; k < rbuf.length; k++) rbuf[k] = 0;
    for (var b = 0; b < c; b++) xorInto(rbuf, cfg.block((sets as any).out[b]));
    return rbuf;
  }

  /**
   * How long to wait for the answer to the frame just sent: its own airtime and the answer
   * time of a `reply`-byte answer, with the line's bit rate; else answerMs.
   */
  function answerWait(reply: number): number {
    var len = ep.lastLength(), ov = cfg.frameOverhead || 0, bps = cfg.lineBitRate || 0;
    return bps ? ((len + ov) * 8000) / bps + answerTimeMs(bps, ov, cfg.hostBaud || 0, len, reply) : cfg.answerMs;
  }

  /**
   * Sends a unicast request to meter i and waits; no answer counts toward its limit. With
   * the line's bit rate the wait is the request's own airtime and the answer time for the
   * reply expected (`long`: a missing-block report, else a short answer); without, answerMs.
   */
  function ask(i: number, type: number, body: any, onTimeout: () => void, long?: boolean): void {
    cur = i;
    if (send(type, body, P.TO_METER, cfg.meters[i])) { arm(50, function () { ask(i, type, body, onTimeout, long); }); return; }
    waitSeq = seq;
    arm(answerWait(long ? P.MAX_FRAME : SMALL_REPLY), function () {
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
    arm(silent ? math.min(cfg.answerMs * (1 << silent), 60000) : cfg.answerMs / 4, function () { fn(0); });
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
    var i = nextControl(from);
    if (i < 0) {
      if (!bcast && nextPass(Ms.SELECTED, control)) return;
      if (bcast) { broadcastControl(); return; }
      if (cfg.onlyCheck) { finish(0); return; }
      // nobody took the control (refused, unauthorised, silent): nothing to broadcast
      if (nextIn(0, Ms.DOWNLOADING) < 0) { finish(0); return; }
      if (coded && !first) { startRound(); return; }
      broadcastAll();
      return;
    }
    asking = 0;
    if (cfg.authorise && !authd[i]) {
      var t = cfg.authorise(cfg.meters[i]);
      if (!t) { st[i] = Ms.FAILED; codes[i] = Err.AUTH_NO_TAG; control(i + 1); return; }
      asking = T.AUTHORIZE;
      ask(i, T.AUTHORIZE, { imageId: s.imageId, version: s.version, kind: t[0], board: s.board, size: s.size, blockSize: s.blockSize, blockCount: s.blockCount, digest: s.digest, tag: sub(t, 1, 17), key: sub(t, 17, 33) }, function () { control(i + 1); });
      return;
    }
    ask(i, T.UPDATE_CONTROL, controlBody(), function () { control(i + 1); });
  }

  /**
   * Coded method: the selection and the control as broadcasts, repeated (LATE_METERS), then
   * a GROUP_QUERY for the selected meters that have no session. A meter that misses every
   * copy is found by the read-back and caught up then.
   */
  function broadcastControl(): void {
    bcast = false;
    // the meters it goes to; keyed ones with the head-end's authorisations, several a frame
    // (a meter without one fails)
    nChosen = 0;
    for (var i = 0; i < n; i++) {
      if (st[i] !== Ms.SELECTED) continue;
      if (!cfg.authorise || cfg.authorise(cfg.meters[i])) { chosen[nChosen++] = i; authd[i] = 1; }
      else { st[i] = Ms.FAILED; codes[i] = Err.AUTH_NO_TAG; }
    }
    // every meter refused or was not authorised: nothing to send
    if (!nChosen) { finish(0); return; }
    queue = [];
    for (var t = repeats(); t > 0; t--) {
      // authorisations twice at most: a frame serves only four meters, and one that missed its
      // own refuses the control with 144 and is authorised by address after the group query
      for (var a = 0; cfg.authorise && t <= 2 && a * AUTH_PER_FRAME < nChosen; a++) queue.push(Q.AUTH | a);
      for (var c = 0; !cfg.group && c * SELECT_PER_FRAME < nChosen; c++) queue.push(Q.SELECT | c);
      queue.push(Q.CONTROL);
    }
    ph = Ph.CONTROL;
    pumping = true;
    pump();
  }

  /** Coded method: copies of a broadcast every meter must get (LATE_METERS). */
  function repeats(): number {
    return loss > 0 ? math.min(MAX_CONTROL_REPEATS, math.max(1, math.ceil(Math.log(LATE_METERS / n) / Math.log(loss)))) : 1;
  }

  /** A reply slot: the longest slotted answer (a DEFICIT, with the trailer) on the line, plus the turnaround. */
  function slotLength(): number {
    return cfg.lineBitRate ? math.ceil(((P.HEADER + 11 + P.TRAILER + (cfg.frameOverhead || 0)) * 8000) / cfg.lineBitRate) + 10 : 100;
  }

  /** Coded method: one query to the group; answers are collected until the last slot has passed. */
  function groupQuery(who: number, expect: number): void {
    var slots = math.max(4, math.min(255, 2 * expect)), slotMs = slotLength();
    maxNeed = 0; unfinished = 0; straggling = 0;
    if (seenLoss >= 0) seenLoss = seenN = 0;
    ph = Ph.POLL;
    totals.polls++;
    if (send(T.GROUP_QUERY, { imageId: s.imageId, who: who, slots: slots, slotMs: slotMs }, P.TO_GROUP, cfg.group || undefined)) {
      arm(50, function () { groupQuery(who, expect); });
      return;
    }
    waitSeq = -1;
    cur = -1;
    arm(slots * slotMs + cfg.answerMs, function () { endQuery(who); });
  }

  /** A DEFICIT heard in a group query. */
  function onDeficit(i: number, b: any): void {
    heardFrom(i);
    if (b.state === Ust.IDLE) {
      // no session: it missed the control, or its authorisation (it gets them addressed to it),
      // or refused it. A keyed meter's DEFICIT comes unauthenticated (anyone may send one in its
      // name): it is asked by address, once (authd 2: it took a control addressed to it), and
      // only its authenticated answer can fail it
      if (missedControl(b.code) || cfg.authorise) { if ((st[i] === Ms.DOWNLOADING || st[i] === Ms.ACTIVATING) && !(cfg.authorise && authd[i] > 1)) { st[i] = Ms.SELECTED; authd[i] = 0; } }
      else if (st[i] !== Ms.FAILED) { st[i] = Ms.FAILED; codes[i] = b.code; }
      return;
    }
    if (st[i] !== Ms.DOWNLOADING && st[i] !== Ms.ACTIVATING) return;
    st[i] = Ms.DOWNLOADING;
    unfinished++;
    // after the first pass every block went out once: what a meter holds tells the loss it saw
    // (one that holds less than half missed the pass, its control caught up late, or is beyond
    // the method's range: it says nothing of the line's loss)
    if (seenLoss >= 0 && b.received * 2 >= s.blockCount && b.received <= s.blockCount) { seenLoss += 1 - b.received / s.blockCount; seenN++; }
    if (b.needed > b.room) { plain[i] = 1; straggling++; }
    else if (b.needed > maxNeed) maxNeed = b.needed;
  }

  /** A refusal that means the meter missed a broadcast: the control, or (keyed) its authorisation. */
  function missedControl(code: number): boolean {
    return code === Err.UPDATE_NO_SESSION || (!!cfg.authorise && code === Err.AUTH_NO_TAG);
  }

  function endQuery(who: number): void {
    endPass();
    // meters that missed the control get it addressed to them
    if (nextIn(0, Ms.SELECTED) >= 0) { control(0); return; }
    if (who === Who.NO_SESSION) {
      // nobody took the control: nothing to broadcast
      if (nextIn(0, Ms.DOWNLOADING) < 0) finish(0);
      else broadcastAll();
      return;
    }
    if (straggling) { poll(0); return; }
    endRound();
  }

  // ---- broadcast: the whole image, then the repair rounds, paced by the endpoint
  function broadcastAll(): void {
    save();
    first = false;
    queue = [];
    for (var b = 0; b < s.blockCount; b++) queue.push(b);
    // coded: repair blocks for the expected loss, so that most meters finish in this pass
    if (coded && loss > 0) {
      var lost = s.blockCount * loss, need = math.ceil(lost + 2 * Math.sqrt(lost));
      queueRepairs(math.ceil((s.blockCount + need) / (1 - loss)) - s.blockCount, need);
    }
    ph = Ph.BROADCAST;
    pumping = true;
    pump();
  }

  function pump(): void {
    if (paused >= 0 || !pumping) return;
    while (queue.length && ep.pending() < 2) {
      var b = queue[0], kind = b & Q.KIND, e: number;
      if (kind === Q.REPAIR) e = send(T.REPAIR_BLOCK, { imageId: s.imageId, index: b & 0xffff, data: repairBlock(b & 0xffff) });
      else if (kind === Q.SELECT || kind === Q.AUTH) {
        // a list frame: the chosen meters of chunk (b & 0xffff)
        var per = kind === Q.SELECT ? SELECT_PER_FRAME : AUTH_PER_FRAME, recs: any[] = [];
        for (var x = (b & 0xffff) * per; x < nChosen && recs.length < per; x++) {
          var id = cfg.meters[chosen[x]], tg = kind === Q.AUTH ? (cfg.authorise as any)(id) as Uint8Array : null;
          recs.push(tg ? { id: id, kind: tg[0], tag: sub(tg, 1, 17), key: sub(tg, 17, 33) } : { id: id });
        }
        e = kind === Q.SELECT ? send(T.SELECT_LIST, { imageId: s.imageId, ids: recs })
          : send(T.AUTHORIZE_LIST, { imageId: s.imageId, version: s.version, board: s.board, size: s.size, blockSize: s.blockSize, blockCount: s.blockCount, digest: s.digest, auths: recs });
      } else if (kind === Q.CONTROL) e = send(T.UPDATE_CONTROL, controlBody(), P.TO_GROUP, cfg.group || undefined);
      else if (kind === Q.ACTIVATE) e = send(T.ACTIVATE, { imageId: s.imageId, at: cfg.activateAt });
      else e = send(T.DATA_BLOCK, { imageId: s.imageId, index: b, data: cfg.block(b) });
      if (e) break;
      queue.shift();
      if (kind === 0 || kind === Q.REPAIR) totals.blocks++;
    }
    if (!queue.length && ep.pending() === 0) {
      pumping = false;
      if (checkDeadline()) return;
      // let the last frame clear the line before asking
      if (ph === Ph.CONTROL) {
        // the control is out: every meter still selected is taken as having it until a group query says otherwise
        for (var i = 0; i < n; i++) if (st[i] === Ms.SELECTED) st[i] = Ms.DOWNLOADING;
        arm(cfg.answerMs / 4, function () { groupQuery(Who.NO_SESSION, math.ceil(n * loss * loss) + 1); });
      }
      else if (ph === Ph.ACTIVATE) awaitRestarts();
      else arm(cfg.answerMs / 4, startRound);
    }
  }

  // ---- poll: every unfinished meter in turn; finished ones are never asked again
  function startRound(): void {
    round++;
    totals.rounds = round;
    for (var k = 0; k < missing.length; k++) missing[k] = 0;
    ph = Ph.POLL;
    if (!coded) { poll(0); return; }
    // the unfinished meters expected: those heard last round or found by the read-back, at
    // least the loss's share (too few slots and every answer collides: nothing is heard)
    for (var i = 0; i < n; i++) plain[i] = 0;
    byAddress = false;
    var left = 0;
    for (var j = 0; j < n; j++) if (st[j] === Ms.DOWNLOADING) left++;
    var expect = math.max(unfinished, found, math.ceil(left * loss) + 1);
    found = 0;
    groupQuery(Who.UNFINISHED, expect);
  }

  /** Patent method: every unfinished meter; coded: the stragglers. */
  function nextPoll(from: number): number {
    for (var i = from; i < n; i++) if (st[i] === Ms.DOWNLOADING && (!coded || plain[i])) return i;
    return -1;
  }

  function poll(from: number): void {
    if (paused >= 0 || checkDeadline()) return;
    var i = nextPoll(from);
    if (i < 0) { endRound(); return; }
    totals.polls++;
    if (cfg.onPoll) cfg.onPoll(cfg.meters[i], round);
    ask(i, T.STATUS_QUERY, { imageId: s.imageId }, function () { poll(i + 1); }, true);
  }

  function endRound(): void {
    var left = 0, total = 0;
    for (var i = 0; i < n; i++) if (st[i] === Ms.DOWNLOADING) left++;
    if (!left) { activate(); return; }
    // coded: no unfinished meter answered the group query; the read-back confirms each one
    if (coded && !unfinished) { activate(); return; }
    // nobody answered: the meters are off or out of reach for now; wait longer, and it is not a round without progress
    if (!coded && !heard) { endPass(); arm(math.min(cfg.answerMs * (1 << silent), 60000), startRound); return; }
    if (!coded) endPass();
    // progress: fewer unfinished meters, or fewer blocks missing among them (coded: the largest deficit)
    for (var b = 0; b < s.blockCount; b++) if (isSet(missing, b)) total++;
    total += (coded ? maxNeed + unfinished * 65536 : left * 65536);
    if (lastMissing >= 0 && total >= lastMissing) {
      // keyed: the deficits that held the round back came unauthenticated (anyone may send one
      // in a meter's name): the meters still downloading are asked by address first, once a
      // round, and their signed answers decide (a complete one is no longer counted)
      if (coded && cfg.authorise && !byAddress) { byAddress = true; for (var a = 0; a < n; a++) plain[a] = st[a] === Ms.DOWNLOADING ? 1 : 0; poll(0); return; }
      stale++;
    } else stale = 0;
    lastMissing = total;
    var blocks = repair.blocks(missing, s.blockCount);
    if (cfg.noProgressRounds && stale >= cfg.noProgressRounds) { finish(Err.CAMPAIGN_NO_PROGRESS); return; }
    if (round >= cfg.maxRounds) { finish(Err.CAMPAIGN_MAX_ROUNDS); return; }
    save();
    queue = blocks;
    // coded: the loss the repair rounds plan for is the one the unfinished meters saw in the
    // first pass (they are the ones the rounds are for), no longer the loss planned at the start
    // (only the first round after the first pass: later, plain blocks sent to stragglers are in what they hold)
    if (coded && seenLoss >= 0) {
      if (seenN) { loss = math.min(0.5, seenLoss / seenN); totals.lossPct = Math.round(loss * 100); }
      seenLoss = -1;
    }
    // coded: repair blocks for the largest deficit at the expected loss, with a margin
    if (coded && maxNeed) queueRepairs(math.ceil((maxNeed + 1 + Math.sqrt(maxNeed)) / (1 - loss)), maxNeed);
    ph = Ph.REPAIR;
    if (!queue.length) { arm(cfg.answerMs, startRound); return; }
    pumping = true;
    pump();
  }

  // ---- activation and read-back
  function activate(): void {
    ph = Ph.ACTIVATE;
    // keyed meters take ACTIVATE only addressed to them: no broadcast, each gets its own
    var to = cfg.authorise ? Ms.COMPLETE : Ms.ACTIVATING;
    // coded: a meter not heard unfinished is taken as complete until its read-back says otherwise
    for (var i = 0; i < n; i++) if (st[i] === Ms.COMPLETE || (coded && st[i] === Ms.DOWNLOADING)) st[i] = to;
    if (nextIn(0, to) < 0) { finish(0); return; }
    save();
    if (cfg.authorise) { activateEach(0); return; }
    // one broadcast; coded: repeated like the control, so that hardly any meter needs another round of it
    queue = [];
    for (var r = coded ? repeats() : 1; r > 0; r--) queue.push(Q.ACTIVATE);
    pumping = true;
    pump();
  }

  /** A scheduled activation: wait until it is due, then for the restarts, then read back. */
  function awaitRestarts(): void {
    var wait = cfg.activateAt && cfg.nowUnix ? math.max(0, cfg.activateAt - cfg.nowUnix()) * 1000 : 0;
    arm(wait + cfg.rebootMs, function () { ph = Ph.READBACK; readback(0); });
  }

  function readback(from: number): void {
    nLst = 0;
    if (paused >= 0 || checkDeadline()) return;
    var i = nextIn(from, Ms.ACTIVATING);
    if (i < 0) {
      if (nextPass(Ms.ACTIVATING, readback)) return;
      // coded: meters found still downloading, or without the control, go back to the rounds
      if (coded && nextIn(0, Ms.SELECTED) >= 0) { control(0); return; }
      if (coded && nextIn(0, Ms.DOWNLOADING) >= 0) { unfinished = 0; startRound(); return; }
      // meters that missed the ACTIVATE (broadcast, or keyed: their own) get it again, a
      // bounded number of times, then each one that still missed it gets its own
      if (nextIn(0, Ms.COMPLETE) >= 0) {
        ++activations;
        if (activations < MAX_ACTIVATIONS) { activate(); return; }
        if (activations <= MAX_ACTIVATIONS) { ph = Ph.ACTIVATE; activateEach(0); return; }
      }
      for (var k = 0; k < n; k++) if (st[k] === Ms.COMPLETE) { st[k] = Ms.FAILED; codes[k] = Err.UPDATE_NOT_VERIFIED; }
      finish(0);
      return;
    }
    if (lists && quiet[i] < LIST_TRIES) readList(i);
    else ask(i, T.STATUS_QUERY, { imageId: s.imageId }, function () { readback(i + 1); });
  }

  /**
   * Coded, unkeyed: the read-back of the next RESULT_PER_FRAME meters from `from` in one
   * broadcast; each answers in its own slot, after PROGRAM_MS for the meter program. Those
   * that stay silent are listed again, then asked by address (LIST_TRIES).
   */
  function readList(from: number): void {
    var ids: any[] = [], sm = slotLength();
    for (var i = from; i < n && nLst < RESULT_PER_FRAME; i++) if (st[i] === Ms.ACTIVATING && quiet[i] < LIST_TRIES) { lst[nLst++] = i; ids.push({ id: cfg.meters[i] }); }
    cur = -1;
    waitSeq = -1;
    totals.polls++;
    if (send(T.RESULT_LIST, { imageId: s.imageId, lead: PROGRAM_MS, slotMs: sm, ids: ids })) { nLst = 0; arm(50, function () { readback(from); }); return; }
    lstSeq = seq;
    arm(answerWait(SMALL_REPLY) + PROGRAM_MS + nLst * sm, function () {
      for (var k = 0; k < nLst; k++) if (lst[k] !== ANSWERED) { totals.noAnswers++; quiet[lst[k]]++; }
      // on from the meter after the list's last (where the loop above stopped)
      readback(i);
    });
  }

  /** The read-back's answer of meter i (to its STATUS_QUERY, or in its slot of a RESULT_LIST). */
  function readAnswer(i: number, m: Msg): void {
    var b = m.body;
    if (m.type === T.UPDATE_RESULT) {
      st[i] = b.outcome === Uo.RUNNING ? Ms.ACTIVATED : b.outcome === Uo.REVERTED ? Ms.REVERTED : Ms.FAILED;
      codes[i] = b.code;
    } else if (m.type === T.DOWNLOAD_COMPLETE) st[i] = Ms.COMPLETE; // it missed the ACTIVATE
    // coded: activated on trust, it is still downloading, or it never had the control
    else if (coded && (m.type === T.STATUS_REPORT || m.type === T.DEFICIT)) { st[i] = Ms.DOWNLOADING; found++; }
    else if (m.type === T.ERROR) {
      if (coded && missedControl(b.code)) { st[i] = Ms.SELECTED; authd[i] = 0; }
      else { st[i] = Ms.FAILED; codes[i] = b.code; }
    }
    // any other answer (a late one to an older request) says nothing: the meter is asked again
  }

  /** ACTIVATE to each meter still waiting for it, until it answers or fails; then the read-back. */
  function activateEach(from: number): void {
    if (paused >= 0 || checkDeadline()) return;
    var i = nextIn(from, Ms.COMPLETE);
    if (i < 0) { if (!nextPass(Ms.COMPLETE, activateEach)) awaitRestarts(); return; }
    ask(i, T.ACTIVATE, { imageId: s.imageId, at: cfg.activateAt }, function () { activateEach(i + 1); });
  }

  /** Meter i answered a request addressed to it: the wait ends. */
  function answered(i: number): void {
    if (timer) clock.clear(timer);
    timer = 0;
    waitSeq = -1;
    heardFrom(i);
  }

  function heardFrom(i: number): void {
    quiet[i] = 0;
    heard = true;
    heardAt[i] = floor((clock.now() - startedAt) / 1000);
  }

  function onMessage(m: Msg): boolean {
    // an answer in a RESULT_LIST's slot
    for (var k = 0; k < nLst; k++) if (lst[k] !== ANSWERED && cfg.meters[lst[k]] === m.src) {
      if (m.type === T.ERROR ? m.body.refSeq !== lstSeq : m.body.imageId !== s.imageId) return false;
      heardFrom(lst[k]);
      readAnswer(lst[k], m);
      lst[k] = ANSWERED;
      return true;
    }
    if (m.type === T.DEFICIT) {
      if (ph !== Ph.POLL || waitSeq >= 0 || m.body.imageId !== s.imageId) return false;
      // the campaign's index of the meter (a native scan: answers to a group query are few)
      var k = cfg.meters.indexOf(m.src);
      if (k < 0) return false;
      onDeficit(k, m.body);
      return true;
    }
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
      else { st[i] = cfg.onlyCheck ? Ms.CHECKED : Ms.DOWNLOADING; authd[i] = 2; control(i + 1); }
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
      // an error may come from a meter that took an earlier ACTIVATE whose ACK was lost
      // (activating: 86; running the image: no session, 85, keyed 144) or that is still
      // downloading (86): the read-back tells
      if (m.type === T.ACK || b.code === Err.UPDATE_NOT_VERIFIED || missedControl(b.code)) st[i] = Ms.ACTIVATING;
      else { st[i] = Ms.FAILED; codes[i] = b.code; }
      activateEach(i + 1);
    } else if (ph === Ph.READBACK) {
      answered(i);
      readAnswer(i, m);
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
        // a refused meter is sent nothing: no control to a group it is in, so the campaign
        // selects its meters one by one (patent) or by list (coded) instead
        for (var k = 0; cfg.refuse && k < n; k++) if ((codes[k] = cfg.refuse(cfg.meters[k]))) { st[k] = Ms.FAILED; cfg.group = 0; }
        // members of the group take the control at once; each then confirms it by answering
        if (cfg.group && !coded) send(T.UPDATE_CONTROL, controlBody(), P.TO_GROUP, cfg.group);
        control(0);
        return;
      }
      var c = readCheckpoint(restore) as CheckpointBody, was = c.phase;
      activations = c.activations;
      round = c.round;
      totals.rounds = round;
      for (var i = 0; i < n; i++) {
        st[i] = c.states[i];
        quiet[i] = c.quiet[i];
        codes[i] = c.codes[i];
      }
      if (was === Ph.DONE || was === Ph.ABORTED) { ph = was; result = c.result; finished(result); }
      else if (was === Ph.CONTROL || nextIn(0, Ms.SELECTED) >= 0) { bcast = false; first = false; seenLoss = -1; control(0); }
      else if (was === Ph.ACTIVATE || was === Ph.READBACK) { ph = Ph.READBACK; readback(0); }
      // downloading: ask first, so only what the meters still miss goes out again
      // (a resumed campaign past its first pass estimates no loss: what its meters hold includes later rounds')
      else { bcast = false; first = false; seenLoss = -1; startRound(); }
    },
    pause: function () { if (paused < 0 && ph !== Ph.DONE && ph !== Ph.ABORTED) { paused = ph; if (timer) clock.clear(timer); timer = 0; waitSeq = -1; nLst = 0; } },
    resume: function () {
      if (paused < 0) return;
      var was = paused;
      paused = -1;
      // a broadcast (its queue, or the wait after it) goes on from where it was
      if (pumping || was === Ph.BROADCAST || was === Ph.REPAIR) { pumping = true; pump(); }
      else if (was === Ph.CONTROL) control(cur < 0 ? 0 : cur);
      // coded: a group query cut short is asked again (before the first pass: the pass)
      else if (was === Ph.POLL) { if (coded && cur < 0) { if (first) broadcastAll(); else startRound(); } else poll(cur < 0 ? 0 : cur); }
      else if (was === Ph.ACTIVATE || was === Ph.READBACK) { ph = Ph.READBACK; readback(0); }
    },
    abort: function (code) {
      if (ph === Ph.DONE || ph === Ph.ABORTED) return;
      send(T.ABORT, { imageId: s.imageId, reason: code });
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
