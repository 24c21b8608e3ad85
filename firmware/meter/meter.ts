/*
 * The meter program's composition root: everything it runs on is passed in (HAL, board
 * facts, regions, configuration), so the same code runs on a board, in unit tests and in
 * the bench. It wires the modem driver and protocol endpoint to metering,
 * administration and the update receiver, and answers the concentrator.
 */
import type { Hal } from "../../hal/types";
import type { Regions } from "../common/layout";
import type { DeviceConfig } from "../common/config";
import { Err } from "../common/errors";
import { getU16, putU16, U8, floor, math } from "../common/bytes";
import { APP_HEADER_SIZE } from "../common/layout";
import { decodeAppHeader } from "../common/image";
import { recordLog } from "../common/records";
import { guardedFlash } from "../common/flash-guard";
import { STATE_SLOT } from "../common/update-image";
import { Cap, Ev, Lim, P, Rd, Sel, T, Who } from "../protocol/catalogue";
import { Msg, newMsg, setMsg } from "../protocol/codec";
import { endpoint, Endpoint } from "../link/endpoint";
import { Modem, ModemEvents, MODEM_RETRY_MS } from "../link/modem";
import { eventOf, Metering, Pr, Rec, startMetering } from "./metering";
import { Receiver, updateReceiver, Us } from "./update";
import { Outcome, readOutcome, type InstallOutcome } from "./trial";
import { REC_ACTIVATE, REC_CONFIRM, WATCHDOG_S, type Session } from "../common/update-image";
import { floorKeeper, type AuthoriserFactory } from "./authorise";
import { TAG_INSTALL, TAG_ROLLBACK } from "../common/hmac";
import type { DecoderOf } from "./decoder";

/** Board facts the meter needs (from the board profile). */
export interface MeterBoard {
  board: string;
  code: number;
  baud: number;
  maxImageSize: number;
  /** Repair blocks it decodes at once (board profile's repairRows). */
  repairRows: number;
}

/**
 * Builds the board's modem driver around the endpoint's events. The entry picks the one
 * driver its board has (firmware/link/factory.ts), so a bundle carries only that driver.
 */
export type ModemFactory = (hal: Hal, events: ModemEvents, seed: number) => Modem;

export interface Meter {
  config: DeviceConfig;
  baud: number;
  metering: Metering;
  receiver: Receiver;
  endpoint: Endpoint;
  modem: Modem;
  lastError(): number;
  /** True while this is a new program that has not confirmed itself yet. */
  onTrial(): boolean;
}

/** Registers and profile slots: docs/meter.md. */
export var REG_SLOT = 32;
export var PROFILE_SLOT = 28;
/** Milliseconds between an accepted REBOOT or ACTIVATE and the restart (lets the ACK go). */
export var RESTART_DELAY_MS = 3000;
/**
 * A new program on trial must confirm itself (a first good exchange with the concentrator,
 * or its CONFIRM) within this time, else it restarts: the boot routine counts the start
 * and reverts after three.
 */
export var TRIAL_DEADLINE_MS = 30 * 60 * 1000;
/**
 * Frames the meter's endpoint holds: a meter only answers, one request at a time, so two
 * are enough (a reply on the way and the next); each costs a 242-byte buffer, which the
 * Original's variables cannot spare (measured: 4 -> 2 saves 32 variables on the Linux build).
 */
export var METER_QUEUE = 2;
/** Authentication failures make one event with their count at most once in this window (15 minutes): a flood of bad frames cannot wear the flash. */
export const enum AuthEvents { EVERY_MS = 900000, TICK_MS = 10000 }

export function startMeter(hal: Hal, board: MeterBoard, makeModem: ModemFactory, regions: Regions, config: DeviceConfig, random?: () => number, makeGuard?: AuthoriserFactory, decode?: DecoderOf, unpacks?: boolean): Meter {
  // (random and the id are read through the parameters: an alias would be a name in this scope, a variable for good)
  if (!random) random = Math.random;
  var clock = hal.clock;
  // The parts are built by top-level functions, not inlined here (the NOINLINE marks): a
  // closure made two scopes deep costs the interpreter a copy of the scope chain each, and
  // these parts keep about 20 closures (measured: 53 variables; docs/meter.md, Memory).
  // Everything the meter program writes goes through the guard: never the boot routine's regions.
  var flash = /*@__NOINLINE__*/ guardedFlash(hal.flash, [regions.boot!, regions.journal!]);
  var regs = recordLog(flash, regions.registers!, REG_SLOT, true, hal.native);
  var prof = recordLog(flash, regions.profile!, PROFILE_SLOT, false, hal.native);
  var journal = recordLog(flash, regions.state!, STATE_SLOT, true, hal.native);
  var metering = /*@__NOINLINE__*/ startMetering(config.kind || 1, clock, hal.pulse, regs, prof, config.groups || [], hal.system.resetCause());
  var head = decodeAppHeader(flash.read(regions.app!.addr, APP_HEADER_SIZE), regions.app!.size);
  var version = head ? head.version : 0;
  // keys: link authentication, the head-end's authorisations, the anti-rollback floor
  // (a keyed board's keys take configuration key 13, the key rotation, from the metering's settings)
  var guard = (makeGuard || floorKeeper)(config.key, hal.native, journal, config.id, flash, regions.keys, metering);
  var installed = { version: version, floor: guard.floor(), board: board.code, maxImage: board.maxImageSize, rows: board.repairRows, decoder: decode || null, unpacks: !!unpacks };
  var receiver = /*@__NOINLINE__*/ updateReceiver(flash, hal.native, regions.buffer!, journal, installed);
  var startedAt = clock.now();
  var lastError = guard.problem;
  // what the boot routine did last: a new program on trial, a revert, a failed install (its
  // outcome and image kept as two numbers: the object would keep its own variables for good)
  var last: InstallOutcome | null = readOutcome(flash, regions.journal!);
  var lastOutcome = last.outcome, lastImage = last.imageId;
  last = null;
  var confirmed = true;
  if (lastOutcome === Outcome.RUNNING) {
    var c = journal.read(REC_CONFIRM);
    confirmed = !!c && getU16(c, 0) === lastImage && journalConfirmNewer();
  }
  var runningImage = lastOutcome === Outcome.RUNNING ? lastImage : 0;
  // the boot routine's news, into the event log: each start of a program on trial, and a
  // revert or a failed install once (the journal tells it at every start)
  // (no names of its own: a name in this scope costs a variable for the meter's life)
  if (!confirmed) metering.event(Ev.FW_STARTED, version);
  if ((lastOutcome === Outcome.REVERTED || lastOutcome === Outcome.FAILED) && getU16(regs.read(Rec.OUTCOME) || new U8(2), 0) !== lastImage) {
    metering.event(lastOutcome === Outcome.REVERTED ? Ev.FW_REVERTED : Ev.FW_FAILED, lastImage);
  }
  function journalConfirmNewer(): boolean {
    // a CONFIRM counts only when newer than the activation it answers
    var act = -1, conf = -1;
    journal.forEach(function (t, seq) { if (t === REC_ACTIVATE) act = seq; else if (t === REC_CONFIRM) conf = seq; });
    return conf > act;
  }
  function confirm(): void {
    if (confirmed) return;
    var b = new U8(2);
    putU16(b, 0, runningImage);
    journal.append(REC_CONFIRM, b);
    confirmed = true;
    metering.event(Ev.FW_CONFIRMED, version);
    guard.confirmed(version);
    installed.floor = guard.floor();
  }
  if (!confirmed) clock.setTimeout(function () { if (!confirmed) restart(); }, TRIAL_DEADLINE_MS);
  // (kicked by the 10 s check below: one timer less, each costs variables)
  try {
    hal.watchdog.enable(WATCHDOG_S);
  } catch (e) {
    lastError = Err.UNSUPPORTED; // no hardware watchdog on this build
  }
  // `answerDue`: a DISCOVER_REPLY or DEFICIT waits in a timer: one at a time, so a flood of
  // broadcasts plants no timers
  var seq = 0, registered = false, selected = 0, refusedImage = 0, refusedCode = 0, restarting = false, answerDue = 0;
  var tx = newMsg();

  var ep = /*@__NOINLINE__*/ endpoint(config.id, METER_QUEUE, {
    message: onMessage,
    // the first reply that reaches the line after a request from the concentrator proves
    // the new program: receive, decode, answer, send
    sent: function (_type, _seq, err) { if (!err && registered) confirm(); },
    // a modem that did not start (powered late, or it glitched) is tried again, and again
    ready: function (err) { if (err) { lastError = err; clock.setTimeout(function () { modem.start(); }, MODEM_RETRY_MS); } },
    // a keyed meter keeps lastError for what authenticated traffic did: a stranger's frames
    // only count (endpoint stats) and get their error in the clear, unsigned
    malformed: function (m, err) {
      if (!guard.keyed) lastError = err;
      reply(m, T.ERROR, { refType: m.type, refSeq: m.seq, code: err });
    },
    inGroup: metering.inGroup,
    auth: guard.link,
    // its concentrator (settings.home, CONFIG key HOME): the endpoint reads it at every frame
    peer: metering.settings,
  });
  var modem = makeModem(hal, ep.events, config.id);
  ep.attach(modem);
  modem.start();
  if (hal.led) hal.led.set(false);

  function send(to: number, type: number, body: any): void {
    seq = (seq + 1) & 0xffff;
    var e = ep.send(setMsg(tx, type, seq, config.id, P.TO_METER, to, body));
    // (not on a keyed meter: anyone can provoke its unsigned answers, and fill the queue with them)
    if (e && !guard.keyed) lastError = e;
  }

  function reply(req: Msg, type: number, body: any): void {
    if (req.mode === P.TO_METER) send(req.src, type, body);
  }

  /** ACK, or ERROR with `code` (ACK's layout has no code: the encoder writes the fields a layout names). */
  function ack(req: Msg, code: number): void {
    // a keyed meter's lastError records only what an authenticated command caused (anyone may broadcast)
    if (code && (req.mode === P.TO_METER || !guard.keyed)) lastError = code;
    reply(req, code ? T.ERROR : T.ACK, { refType: req.type, refSeq: req.seq, code: code });
  }

  /** A DEFICIT's body before the receiver fills it in. */
  function deficitOf(imageId: number, st: number): any {
    return { imageId: imageId, state: st, received: 0, needed: 0, room: 0, code: 0 };
  }

  function restart(): void {
    if (restarting) return;
    restarting = true;
    clock.setTimeout(function () {
      metering.save();
      hal.system.reset();
    }, RESTART_DELAY_MS);
  }

  function activateNow(imageId: number): number {
    var s = receiver.session();
    if (guard.keyed && (!s || !guard.grant(s))) return Err.AUTH_NO_TAG;
    var e = receiver.activate(imageId);
    if (!e) { metering.event(Ev.FW_ACTIVATED, s ? s.version : 0); restart(); }
    return e;
  }

  // every 10 s: the watchdog's kick (its timeout is WATCHDOG_S), the register's save when
  // due, and the scheduled activation (UPDATE_CONTROL.activateAt or ACTIVATE.at)
  var activateAt = 0, activateImage = 0, authLogged = 0;
  clock.setInterval(function () {
    hal.watchdog.kick();
    metering.tick();
    // authentication failures: one event with their count since the last, from the tick in
    // the first 10 s of each 15-minute window only
    var rejected = ep.stats.authRejected;
    if (rejected > authLogged && clock.now() % AuthEvents.EVERY_MS < AuthEvents.TICK_MS) {
      metering.event(Ev.AUTH_FAILED, rejected - authLogged);
      authLogged = rejected;
    }
    var s = receiver.session();
    var at = activateAt || (s ? s.activateAt : 0);
    var img = activateAt ? activateImage : s ? s.imageId : 0;
    var now = metering.wallTime();
    if (at && now && now >= at && receiver.state() === Us.VERIFIED) activateNow(img);
  }, AuthEvents.TICK_MS);

  /**
   * The read-back's answer for image `imageId`: to a STATUS_QUERY (`at` < 0), or `at` ms
   * after a RESULT_LIST that names this meter, in its own slot (short, so a download in
   * progress answers its DEFICIT instead of a STATUS_REPORT).
   */
  function status(m: Msg, imageId: number, at: number): void {
    var t0 = clock.now(), s = receiver.session(), st = receiver.state(), t: number, body: any;
    if ((!s || s.imageId !== imageId) && lastOutcome !== Outcome.NONE && lastImage === imageId) {
      t = T.UPDATE_RESULT;
      body = { imageId: imageId, version: version, outcome: lastOutcome, code: lastOutcome === Outcome.REVERTED ? Err.BOOT_REVERTED : lastOutcome === Outcome.FAILED ? Err.BOOT_COPY_FAILED : 0 };
    } else if (!s || s.imageId !== imageId) {
      t = T.ERROR;
      body = { refType: m.type, refSeq: m.seq, code: lastError = refusedImage === imageId ? refusedCode : Err.UPDATE_NO_SESSION };
    } else if (st === Us.VERIFIED || st === Us.ACTIVATING) {
      t = T.DOWNLOAD_COMPLETE;
      body = { imageId: imageId, version: s.version };
    } else if (at < 0) {
      t = T.STATUS_REPORT;
      // (report() fills in every missing-set field: received, firstMissing, form, base, covers, map)
      body = { imageId: imageId, state: st };
      receiver.report(body);
    } else {
      t = T.DEFICIT;
      receiver.deficit(body = deficitOf(imageId, st));
    }
    if (at < 0) reply(m, t, body);
    // the slot counts from the list's arrival: the work above (a decoder rebuild for the
    // DEFICIT) is taken off the wait, or the answer would land in a later meter's slot
    else answerLater(m.src, t, body, math.max(0, at - (clock.now() - t0)));
  }

  // the one answer to a broadcast that waits for its slot (answerDue: its timer, 0 none;
  // timer ids start at 1 on the interpreter, jsiTimerAdd): to whom, what
  var dueTo = 0, dueType = 0, dueBody: any = null;
  function sendDue(): void {
    answerDue = 0;
    send(dueTo, dueType, dueBody);
  }

  /**
   * Sends an answer to a broadcast after its slot's delay (at most P.MAX_ANSWER_WAIT_MS). One
   * waits at a time: a newer request's answer replaces it, so no request, a stranger's
   * included, keeps the meter from answering the next.
   */
  function answerLater(to: number, type: number, body: any, ms: number): void {
    if (answerDue) clock.clear(answerDue);
    dueTo = to;
    dueType = type;
    dueBody = body;
    answerDue = clock.setTimeout(sendDue, math.min(ms, P.MAX_ANSWER_WAIT_MS));
  }

  function onMessage(m: Msg, _quality: number): void {
    var b = m.body, unicast = m.mode === P.TO_METER, bl;
    if (unicast) registered = true;
    switch (m.type) {
      case T.READ_REQ:
        if (b.what === Rd.REGISTERS) {
          var reg = metering.register();
          var all = true;
          for (var i = 0; i < 6; i++) if (b.obis[i] !== 0xff && b.obis[i] !== reg.obis[i]) all = false;
          reply(m, T.READINGS, { time: metering.wallTime(), regs: all ? [reg] : [] });
        } else if (b.what === Rd.EVENTS) {
          // from number `from` on, at most `count` (15 at most); `first`: the oldest held
          var evs: any[] = [], first = 0, most = math.min(b.count || Lim.EVENTS, Lim.EVENTS);
          prof.forEach(function (t, _s, p) {
            if (t !== Pr.EVENT) return;
            var e = eventOf(p);
            if (!first) first = e.n;
            if (e.n >= b.from && evs.length < most) evs.push(e);
          });
          reply(m, T.EVENTS, { first: first, last: metering.event(0, 0), events: evs });
        } else if (b.what === Rd.BILLING && (bl = metering.billing())) {
          // (an electricity meter's: water and gas have no rates nor demand)
          reply(m, T.BILLING, bl);
        } else if (b.what === Rd.PROFILE) {
          // the register's obis, unit and scaler head the answer (the encoder writes only the fields PROFILE's layout names)
          var p = metering.profile(b.from, b.count), r0: any = metering.register();
          r0.start = p ? p.start : b.from;
          r0.period = p ? p.period : metering.settings.intervalS;
          r0.slots = p ? p.slots : [];
          reply(m, T.PROFILE, r0);
        } else ack(m, Err.BAD_ARG);
        break;
      case T.IDENTIFY:
        var groups: any[] = [];
        for (var g = 0; g < metering.groups.length; g++) groups.push({ group: metering.groups[g] });
        // (helpers used once are written in place: each function costs variables for good)
        var hw = new U8(board.board.length);
        for (var hi = 0; hi < hw.length; hi++) hw[hi] = board.board.charCodeAt(hi) & 0x7f;
        reply(m, T.IDENTITY, { kind: metering.kind, board: board.code, version: version, imageId: runningImage, proto: P.VERSION, caps: unpacks ? Cap.UNPACKS : 0, hw: hw, groups: groups });
        break;
      case T.STATUS_REQ:
        reply(m, T.STATUS, {
          uptime: floor((clock.now() - startedAt) / 1000), boots: metering.boots, time: metering.wallTime(),
          alarms: (metering.wallTime() ? 0 : 1) | (lastOutcome === Outcome.REVERTED ? 2 : 0) | (confirmed ? 0 : 4), lastError: lastError & 0xffff, resetCause: hal.system.resetCause(),
          freeVars: math.min(0xffff, hal.system.freeVariables()), update: receiver.state(),
        });
        break;
      case T.TIME_SET:
        metering.setTime(b.time);
        ack(m, 0);
        break;
      case T.CONFIG_GET:
        var v = metering.getSetting(b.key);
        if (v) reply(m, T.CONFIG_VALUE, { key: b.key, value: v });
        else ack(m, Err.CONFIG_UNKNOWN_KEY);
        break;
      case T.CONFIG_SET:
        // (HOME: the ack goes to the concentrator that asked, the frames after it come from the new one only)
        ack(m, metering.setSetting(b.key, b.value));
        break;
      case T.GROUP_SET:
        ack(m, metering.setGroup(b.op, b.group));
        break;
      case T.REBOOT:
        ack(m, 0);
        restart();
        break;
      case T.DISCOVER:
        // (any concentrator's: the answer names the meter's own, so a neighbour leaves it be; a
        // neighbour's does not put off an answer that waits, which may be its own's)
        var home = metering.settings.home;
        if (b.unregistered && (registered || home) || answerDue && home && m.src !== P.CONC_BASE + home) break;
        var slot = floor(random!() * (b.slots || 1));
        answerLater(m.src, T.DISCOVER_REPLY, { nonce: b.nonce, slot: slot, kind: metering.kind, version: version, home: home }, slot * b.slotMs);
        break;
      case T.UPDATE_SELECT:
        if (b.op === Sel.SELECT) selected = b.imageId;
        else if (b.op === Sel.DESELECT && selected === b.imageId) selected = 0;
        ack(m, b.op === Sel.SELECT || b.op === Sel.DESELECT ? 0 : Err.BAD_ARG);
        break;
      case T.UPDATE_CONTROL:
        // a control to this meter or one of its groups selects it; a broadcast one needs a select
        if (m.mode === P.TO_ALL && selected !== b.imageId) { ack(m, Err.UPDATE_NOT_SELECTED); break; }
        // the control's body becomes the session (a new object each frame): `start` taken off (the
        // session holds its fields only), the digest copied out of the frame buffer, and a keyed
        // meter takes an activation time only from a control addressed to it (authenticated)
        var ns: Session = b, begin = b.start === 1;
        delete b.start;
        b.digest = new U8(b.digest);
        if (guard.keyed && !unicast) b.activateAt = 0;
        // a keyed meter downloads only what the head-end authorised for it
        var grant = guard.keyed ? guard.grant(ns) : 0;
        var was = receiver.session();
        var code = guard.keyed && !grant ? Err.AUTH_NO_TAG : receiver.control(ns, begin, grant === TAG_ROLLBACK);
        // events: a new download, or a refusal (once for the same image and code; on a keyed
        // meter only an authenticated one: a stranger's broadcasts write no flash)
        if (code) {
          if ((unicast || !guard.keyed) && (refusedImage !== b.imageId || refusedCode !== code)) metering.event(Ev.FW_REFUSED, code * 65536 + b.imageId);
          refusedImage = b.imageId;
          refusedCode = code;
        } else {
          if (refusedImage === b.imageId) refusedImage = 0;
          // (a check-only control, start = 0, opens nothing: no download to log)
          if (begin && (!was || was.imageId !== b.imageId)) metering.event(Ev.FW_DOWNLOAD, b.version);
        }
        ack(m, code);
        break;
      case T.DATA_BLOCK:
      case T.REPAIR_BLOCK:
        var wasVerified = receiver.state() === Us.VERIFIED;
        (m.type === T.DATA_BLOCK ? receiver.block : receiver.repair)(b.imageId, b.index, b.data);
        // the block that verified the image
        if (!wasVerified && receiver.state() === Us.VERIFIED) metering.event(Ev.FW_READY, receiver.session()!.version);
        break;
      case T.SELECT_LIST:
        for (var n = 0; n < b.ids.length; n++) if (b.ids[n].id === config.id) selected = b.imageId;
        break;
      case T.AUTHORIZE_LIST:
        // the head-end's tags for several meters in one broadcast: only this meter's key makes
        // its own. A broadcast carries no counter, so it could be replayed: only an install of a
        // version above the running one, the floor and the highest version ever authorised (also
        // after a restart) is taken, a rollback must come addressed and authenticated, and a
        // replay writes nothing
        for (var q = 0; q < b.auths.length; q++) {
          var au = b.auths[q];
          if (guard.keyed && au.id === config.id && au.kind === TAG_INSTALL && b.version > version && b.version > guard.floor() && b.version > guard.highest!()) guard.authorise(b, au.kind, au.tag, au.key);
        }
        break;
      case T.GROUP_QUERY: {
        // (coded method) one query to the group, answered in a random slot by the meters it
        // concerns: a selected meter without a session for the image (it missed or refused
        // the control: its code), and with who = UNFINISHED every meter whose download is not
        // complete (its deficit). Finished meters stay silent; silence proves nothing, the
        // concentrator's read-back does.
        var gs = receiver.session(), gst = receiver.state(), d = deficitOf(b.imageId, gst);
        if (gs && gs.imageId === b.imageId) {
          if (b.who !== Who.UNFINISHED || gst === Us.VERIFIED || gst === Us.ACTIVATING) break;
          receiver.deficit(d);
        } else {
          // not in this campaign, or it already ran the image
          if (!(m.mode === P.TO_GROUP || selected === b.imageId || refusedImage === b.imageId) || lastImage === b.imageId && lastOutcome !== Outcome.NONE) break;
          d.state = Us.IDLE;
          d.code = refusedImage === b.imageId ? refusedCode : Err.UPDATE_NO_SESSION;
        }
        answerLater(m.src, T.DEFICIT, d, floor(random!() * (b.slots || 1)) * b.slotMs);
        break;
      }
      case T.STATUS_QUERY:
        status(m, b.imageId, -1);
        break;
      case T.RESULT_LIST:
        // named in it, the meter is known to the concentrator, and its answer proves a new program as a reply does
        for (var n2 = 0; n2 < b.ids.length; n2++) if (b.ids[n2].id === config.id) { registered = true; status(m, b.imageId, b.lead + n2 * b.slotMs); }
        break;
      case T.ABORT:
        if (selected === b.imageId) selected = 0;
        ack(m, receiver.abort(b.imageId));
        break;
      case T.ACTIVATE:
        if (b.at === 0) { ack(m, activateNow(b.imageId)); break; }
        if (!metering.wallTime()) { ack(m, Err.CLOCK_NOT_SET); break; }
        var ss = receiver.session();
        if (!ss || ss.imageId !== b.imageId) { ack(m, Err.UPDATE_NO_SESSION); break; }
        if (receiver.state() !== Us.VERIFIED) { ack(m, Err.UPDATE_NOT_VERIFIED); break; }
        activateAt = b.at;
        activateImage = b.imageId;
        ack(m, 0);
        break;
      case T.VERSION_READ:
        reply(m, T.VERSION, { version: version, imageId: runningImage, appCrc: head ? head.crc : 0, state: receiver.state() });
        break;
      case T.AUTHORIZE:
        ack(m, guard.authorise(b, b.kind, b.tag, b.key));
        break;
      case T.CONFIRM:
        if (b.imageId !== runningImage) { ack(m, Err.UPDATE_NO_SESSION); break; }
        confirm();
        ack(m, 0);
        break;
      default:
        ack(m, Err.UNSUPPORTED);
    }
  }

  return {
    config: config, baud: board.baud, metering: metering, receiver: receiver, endpoint: ep, modem: modem,
    lastError: function () { return lastError; },
    onTrial: function () { return !confirmed; },
  };
}
