/*
 * Reading collection: a round asks every meter in the registry for its registers, or for
 * its load profile since the last interval collected (READ_REQ), one after another, with
 * retries and a growing pause; each reading is appended to the readings file before it
 * counts as collected, so a concentrator power cut loses none that were reported
 * collected. The file holds one line per reading (a register, or a profile interval with
 * its start time and status, its OBIS with group D = 29, the delta over the period, as
 * DLMS load profiles name it, e.g. 1-0:1.29.0):
 *   meter id,OBIS A-B:C.D.E,value,unit,scaler,time,status
 * or an event of the meter's event log (OBIS 0-0:99.98.0, its code as the value, unit 255
 * "no unit", its data as the status, and its number in the log last):
 *   meter id,0-0:99.98.0,code,255,0,time,data,number
 * and exports as CSV or JSON lines with the value scaled and the unit named.
 */
import type { Clock } from "../../hal/types";
import { Cap, Ev, Kind, Lim, P, Rd, T } from "../protocol/catalogue";
import { Err } from "../common/errors";
import { Msg, newMsg, setMsg } from "../protocol/codec";
import type { Endpoint } from "../link/endpoint";
import { Rf, type Registry } from "./registry";
import type { ReadingStore } from "./store";
import { U8 } from "../common/bytes";

/** Append-only text file (a Storage file on the device). */
export interface LineFile {
  append(line: string): void;
  forEach(fn: (line: string) => void): void;
}

export interface ReadingOptions {
  answerMs: number;
  /** Attempts per meter and round, the first included. */
  attempts: number;
}

export interface Collector {
  /**
   * Starts a round of registers (what 1), load profile (what 2), identities (what 3: kind,
   * board, version, first group into the registry) or events (what 4), of every meter or only registry index
   * `only`, unless one runs; `done(collected, missed)` at its end.
   */
  round(done: (collected: number, missed: number) => void, only?: number, what?: number): boolean;
  /** `nowS`: the concentrator's wall clock (Unix s), 0 while not set. */
  onMessage(m: Msg, nowS: number): boolean;
  busy(): boolean;
  /** TIME_SETs sent to single meters whose clock was unset or off. */
  clockSets(): number;
  /** Readings Storage refused (full): not collected, asked for again in a later round. */
  refused(): number;
}

var ALL = new U8([255, 255, 255, 255, 255, 255]);
/** A meter clock further off than this (s) is set again when its readings come in. */
export var MAX_DRIFT_S = 30;
/** DLMS unit codes to their names (the export, and the host's bench). */
export var UNITS: { [u: number]: string } = { 30: "Wh", 32: "varh", 13: "m3", 27: "W" };

/** OBIS as A-B:C.D.E; `d` replaces group D when given. */
export function obisText(o: Uint8Array, d?: number): string {
  // F: 255 the current value, else a billing period's (101 the last: 1-0:1.6.0*101)
  return o[0] + "-" + o[1] + ":" + o[2] + "." + (d === undefined ? o[3] : d) + "." + o[4] + (o[5] === 255 ? "" : "*" + o[5]);
}

/** Profile intervals are deltas over the capture period: OBIS group D = 29 ("time integral 5"). */
export var PROFILE_D = 29;
/** The event log's OBIS code (IDIS standard event log), as the readings file writes it. */
export var EVENT_OBIS = "0-0:99.98.0";
/** Event lines' unit: DLMS 255, no unit. */
var NO_UNIT = 255;

export function collector(ep: Endpoint, clock: Clock, reg: Registry, file: LineFile, o: ReadingOptions): Collector {
  var cur = -1, end = 0, attempt = 0, waitSeq = -1, timer = 0, seq = 0, got = 0, missed = 0, what = 1, asks = 0;
  /** Profile requests per meter and round at most (40 intervals each). */
  var MAX_PROFILE_ASKS = 8;
  var finish: ((c: number, m: number) => void) | null = null;
  var clockSets = 0, refused = 0;
  var tx = /*@__NOINLINE__*/ newMsg();

  /** Persists a reading: false when Storage refused it (then it is not collected). */
  function keep(line: string): boolean {
    try {
      file.append(line);
      return true;
    } catch (e) {
      refused++;
      return false;
    }
  }

  function ask(): void {
    // a removed meter is not asked
    // (nor, for billing registers, a water or gas meter: only electricity meters have rates and demand)
    while (cur >= 0 && cur < end && (reg.flags(cur) & Rf.REMOVED || what === Rd.BILLING && (reg.kind(cur) === Kind.WATER || reg.kind(cur) === Kind.GAS))) cur++;
    if (cur >= end) {
      cur = -1;
      var f = finish;
      finish = null;
      if (f) f(got, missed);
      return;
    }
    seq = (seq + 1) & 0xffff;
    var body = what === Rd.IDENTIFY ? {} : { what: what, obis: ALL, from: what === Rd.PROFILE ? reg.profileAt(cur) + 1 : what === Rd.EVENTS ? reg.eventAt(cur) + 1 : 0, count: what === Rd.PROFILE ? 40 : what === Rd.EVENTS ? Lim.EVENTS : 0 };
    if (ep.send(setMsg(tx, what === Rd.IDENTIFY ? T.IDENTIFY : T.READ_REQ, seq, P.BROADCAST_ID, P.TO_METER, reg.id(cur), body))) { timer = clock.setTimeout(ask, 100); return; }
    waitSeq = seq;
    timer = clock.setTimeout(function () {
      timer = 0;
      waitSeq = -1;
      if (++attempt < o.attempts) {
        // a growing pause before asking again
        timer = clock.setTimeout(ask, o.answerMs * attempt);
        return;
      }
      reg.note(cur, false, 0, 0);
      missed++;
      attempt = 0;
      cur++;
      ask();
    }, o.answerMs);
  }

  return {
    busy: function () { return cur >= 0; },
    clockSets: function () { return clockSets; },
    refused: function () { return refused; },
    round: function (done, only, w) {
      if (cur >= 0) return false;
      finish = done;
      what = w === Rd.PROFILE || w === Rd.IDENTIFY || w === Rd.EVENTS || w === Rd.BILLING ? w : Rd.REGISTERS;
      asks = 0;
      got = 0;
      missed = 0;
      cur = only === undefined ? 0 : only;
      end = only === undefined ? reg.count() : only + 1;
      attempt = 0;
      ask();
      return true;
    },
    onMessage: function (m, nowS) {
      var want = what === Rd.IDENTIFY ? T.IDENTITY : what === Rd.PROFILE ? T.PROFILE : what === Rd.EVENTS ? T.EVENTS : what === Rd.BILLING ? T.BILLING : T.READINGS;
      if (cur < 0 || waitSeq < 0 || m.src !== reg.id(cur)) return false;
      // the meter refused the request (a water or gas meter asked for billing registers before
      // its kind was known, or a meter older than the request): answered, nothing to file, the
      // next meter (asking again would only hold the line, also from a campaign that starts)
      var refused = m.type === T.ERROR && m.body.refSeq === waitSeq && m.body.code === Err.BAD_ARG;
      if (m.type !== want && !refused) return false;
      if (timer) clock.clear(timer);
      timer = 0;
      waitSeq = -1;
      var b = m.body, i: number;
      if (refused) {
        // answered with a refusal: nothing to file
      } else if (what === Rd.IDENTIFY) {
        reg.setInfo(cur, b.kind, b.version);
        reg.setBoard(cur, b.board);
        // kept once said: a boot routine is only replaced by provisioning over USB (a meter
        // provisioned again with an older one refuses a packed image at activation, 108)
        // (exactly: other bits are 0 today, so anything else is not believed)
        if (b.caps === Cap.UNPACKS) reg.add(m.src, Rf.UNPACKS);
        if (!reg.group(cur) && b.groups.length) reg.setGroup(cur, b.groups[0].group);
        got++;
      } else if (what === Rd.REGISTERS || what === Rd.BILLING) {
        // a meter whose clock is not set (it missed the TIME_SET broadcast, or restarted) or drifted gets the time of its own
        if (nowS && (!b.time || b.time > nowS + MAX_DRIFT_S || b.time < nowS - MAX_DRIFT_S)) {
          seq = (seq + 1) & 0xffff;
          ep.send(setMsg(tx, T.TIME_SET, seq, P.BROADCAST_ID, P.TO_METER, m.src, { time: nowS }));
          clockSets++;
        }
        for (i = 0; i < b.regs.length; i++) {
          // a billing register at its own time (a demand's: its block's end; 0, none yet: not filed)
          var r = b.regs[i], at = what === Rd.BILLING ? r.at : b.time || nowS;
          // persisted first: only then is it collected
          if ((at || what === Rd.REGISTERS) && keep(m.src + "," + obisText(r.obis) + "," + r.value + "," + r.unit + "," + r.scaler + "," + at + "," + r.status)) got++;
        }
      } else if (what === Rd.EVENTS) {
        var from = reg.eventAt(cur) + 1, ev = m.src + "," + EVENT_OBIS + ",";
        // the meter's numbering went back (its regions erased, provisioned again): from its start
        if (b.last < from - 1) {
          reg.setEventAt(cur, 0);
          if (++asks < MAX_PROFILE_ASKS) { attempt = 0; ask(); return true; }
        } else {
          // events the meter let go before they were collected: a line says how many (none
          // after it is kept unless it is: a gap is never silent)
          var gap = b.first > from, ok = !gap || keep(ev + Ev.EVENTS_LOST + "," + NO_UNIT + ",0," + nowS + "," + (b.first - from) + "," + (b.first - 1));
          if (gap && ok) reg.setEventAt(cur, b.first - 1);
          for (i = 0; ok && i < b.events.length; i++) {
            var e = b.events[i];
            if (e.n <= reg.eventAt(cur)) continue;
            if (!keep(ev + e.code + "," + NO_UNIT + ",0," + e.time + "," + e.data + "," + e.n)) break;
            reg.setEventAt(cur, e.n);
            got++;
          }
          // a full answer that was all kept: there may be more
          if (ok && i === Lim.EVENTS && ++asks < MAX_PROFILE_ASKS) { attempt = 0; ask(); return true; }
        }
      } else {
        var last = 0;
        for (i = 0; i < b.slots.length; i++) {
          var t = b.start + i * b.period;
          // the mark stops at the last interval stored: the rest is asked for again
          if (!keep(m.src + "," + obisText(b.obis, PROFILE_D) + "," + b.slots[i].value + "," + b.unit + "," + b.scaler + "," + t + "," + b.slots[i].status)) break;
          got++;
          last = t;
        }
        if (last) reg.setProfileAt(cur, last);
        // a full answer: there may be more intervals; ask again from the last one
        if (i === 40 && ++asks < MAX_PROFILE_ASKS) { attempt = 0; ask(); return true; }
      }
      asks = 0;
      attempt = 0;
      cur++;
      ask();
      return true;
    },
  };
}

/**
 * A readings line's seven fields (id, OBIS, value, unit, scaler, time, status), eight for an
 * event (its number last), or null for a line that is not one: the one parser of the file's
 * lines (export, the marks, and the host's bench and tools).
 */
export function readingFields(line: string): string[] | null {
  var f = line.split(",");
  return f.length === 7 || f.length === 8 && f[1] === EVENT_OBIS ? f : null;
}

/**
 * Each meter's newest load-profile interval and newest event in the readings file, into the
 * registry (a restarted concentrator then asks only for newer ones: nothing is filed twice).
 * A meter not in the registry is skipped.
 */
export function readingMarks(file: LineFile, reg: Registry): void {
  file.forEach(function (line) {
    var f = readingFields(line), i = f ? reg.find(+f[0]) : -1;
    if (i < 0) return;
    if (f!.length === 8) { if (+f![7] > reg.eventAt(i)) reg.setEventAt(i, +f![7]); }
    else if (f![1].split(".")[1] === "" + PROFILE_D && +f![5] > reg.profileAt(i)) reg.setProfileAt(i, +f![5]);
  });
}

/**
 * The readings as CSV (with a header) or JSON lines, value scaled, unit named: every one
 * kept (returns how many), or with `from` those from that store position on, at most `max`,
 * each JSON line with its "pos" (returns the position to ask from next).
 */
export function exportReadings(store: ReadingStore, format: string, out: (line: string) => void, from?: number, max?: number): number {
  var n = 0;
  function one(line: string, pos: number): void {
    var f = readingFields(line);
    if (!f) return;
    var at = pos < 0 ? "" : "\"pos\":" + pos + ",";
    // an event: its code, time, data and number in the meter's log (CSV: the code as the value, the data as the status)
    if (f.length === 8) {
      if (format === "csv") out(f[0] + "," + f[1] + "," + f[2] + ",event," + f[5] + "," + f[6]);
      else out("{" + at + "\"meter\":" + f[0] + ",\"obis\":\"" + f[1] + "\",\"event\":" + f[2] + ",\"time\":" + f[5] + ",\"data\":" + f[6] + ",\"n\":" + f[7] + "}");
      n++;
      return;
    }
    var scaler = +f[4], v = +f[2];
    var value = scaler < 0 ? (v / Math.pow(10, -scaler)).toFixed(-scaler) : String(v * Math.pow(10, scaler));
    var unit = UNITS[+f[3]] || "unit" + f[3];
    if (format === "csv") out(f[0] + "," + f[1] + "," + value + "," + unit + "," + f[5] + "," + f[6]);
    else out("{" + at + "\"meter\":" + f[0] + ",\"obis\":\"" + f[1] + "\",\"value\":" + value + ",\"unit\":\"" + unit + "\",\"time\":" + f[5] + ",\"status\":" + f[6] + "}");
    n++;
  }
  if (format === "csv") out("meter,obis,value,unit,time,status");
  if (from === undefined) {
    store.forEach(function (line) { one(line, -1); });
    return n;
  }
  return store.since(from, max || 100, one);
}
