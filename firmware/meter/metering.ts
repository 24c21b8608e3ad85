/*
 * Metering: pulses from the meter's pulse output become a register (by OBIS code) and an
 * interval load profile, both kept through power cuts in record logs (common/records.ts).
 *
 * Save policy (settings, changed with CONFIG_SET):
 * - at every interval end (15 min by default) the register and the interval are written;
 * - between interval ends, the register is written when `savePulses` pulses have come in
 *   since the last save and at least `minSaveS` seconds have passed since it;
 * - a pulse count that changed is written at least every `maxSaveS` seconds.
 * A power cut therefore loses at most the pulses since the last save, and the register
 * read back after it is never above the true count (only counted pulses are written).
 *
 * Register value = floor(pulses x 1000 / constant): Wh for electricity, litres (m3 with
 * scaler -3) for water and gas. Profile values are differences of that conversion, so
 * slots add up exactly to the register's growth.
 */
import type { Clock, PulseInput } from "../../hal/types";
import { Err } from "../common/errors";
import { getU16, getU32, putU16, putU32, U8, floor, sub, U32, math } from "../common/bytes";
import type { RecordLog } from "../common/records";
import { Ev, Gop, Key, Kind, P, Tf } from "../protocol/catalogue";

import { dayOfMonth, Dst, localSeconds } from "../common/calendar";

/**
 * Types in the registers log. OUTCOME: the boot routine's last outcome written to the event
 * log (image id u16, outcome u8). RATES and DEMAND: the billing state's two halves (Bl), u32
 * each; TARIFF: the tariff, zone and billing-day settings' bytes (Tf). Every type the log
 * allows (0 to 7) is taken.
 */
export const enum Rec { DEMAND = 0, REG = 1, SETTINGS = 2, GROUPS = 3, BOOT = 4, OUTCOME = 5, RATES = 6, TARIFF = 7 }

/**
 * The billing state (one Uint32Array, docs/meter.md, Time of use): RATES is its first five,
 * DEMAND its last five. RATE the rate in force, SETTLED the pulse count when it came into
 * force; indexes 2 to 4 the pulses of rates 2 to 4 before it (rate 1 is the rest of the
 * total, so the rates always add up to it); MAX the period's highest block demand (W) and
 * MAX_AT the end of its block, PREV and PREV_AT the previous period's, START the period's start.
 */
/** billTick's modes (and the records it writes: RATES 1, DEMAND 2). */
export const enum Bt { TICK = 0, RATES = 1, DEMAND = 2, END = 3 }

export const enum Bl { RATE = 0, SETTLED = 1, MAX = 5, MAX_AT = 6, PREV = 7, PREV_AT = 8, START = 9, N = 10, HALF = 5 }


/** Types in the profile log: load-profile intervals and, in the same ring, the event log (docs/meter.md, Event log). */
export const enum Pr { INTERVAL = 1, EVENT = 2 }

/** Events noted before the clock is first set after a start, written when it is: code, data and seconds on the clock each, the count last. */
export const enum Pending { MAX = 6, COUNT = 18 }

export interface MeterEvent { n: number; code: number; time: number; data: number }

/** An event record's fields (a Pr.EVENT record's payload): the one reading of the layout `event` writes, as EVENTS carries them. */
export function eventOf(p: Uint8Array): MeterEvent {
  return { n: getU32(p, 0), code: p[4], time: getU32(p, 5), data: getU32(p, 9) };
}

/** Interval status bits (docs/protocol.md, PROFILE). */
export const enum Iv { MISSING = 1, CLOCK_ADJUSTED = 2, POWER_FAIL = 4, PARTIAL = 8, OVERFLOW = 16, CLOCK_NOT_SET = 32 }

/** Register status bits (READINGS). */
export const enum RegStatus { INVALID = 1, CLOCK_NOT_SET = 2 }


/** Units of the billing registers (DLMS unit codes). */
export const enum Unit { W = 27, WH = 30, M3 = 13 }

/** Groups a meter may be in (a const enum, and the intervals written where they are checked: a module var holds the Original's variables for good, an array of six 11). */
export const enum Lm { MAX_GROUPS = 4 }

export interface Settings {
  constant: number;
  intervalS: number;
  savePulses: number;
  minSaveS: number;
  maxSaveS: number;
  /** The meter's concentrator: its id (1 to P.MAX_CONC), 0 none (CONFIG key HOME). */
  home: number;
}

export function defaultSettings(): Settings {
  return { constant: 1000, intervalS: 900, savePulses: 100, minSaveS: 300, maxSaveS: 3600, home: 0 };
}

export interface Register {
  obis: Uint8Array;
  unit: number;
  scaler: number;
  value: number;
  status: number;
}

export interface ProfileSlot { value: number; status: number; }

/** A billing register: a Register with its capture time (the reading's, or the demand's block end). */
export interface BillingRegister extends Register { at: number }

/** BILLING's body: the rate in force, the billing period's start, the rate registers and the demand. */
export interface Billing { time: number; rate: number; start: number; regs: BillingRegister[] }

export interface Metering {
  kind: number;
  settings: Settings;
  groups: number[];
  boots: number;
  pulses(): number;
  savedPulses(): number;
  /** Unix seconds, or 0 while the clock is not set. */
  wallTime(): number;
  setTime(unix: number): void;
  register(): Register;
  /** Up to `count` (at most 40) consecutive intervals from the first that starts at or after `from`. */
  profile(from: number, count: number): { start: number; period: number; slots: ProfileSlot[] } | null;
  getSetting(key: number): Uint8Array | null;
  /** 0 or CONFIG_UNKNOWN_KEY / CONFIG_BAD_VALUE; nothing changes on error. */
  setSetting(key: number, value: Uint8Array): number;
  /** 0, GROUP_FULL or BAD_ARG. op: Gop (join, leave, leave all). */
  setGroup(op: number, group: number): number;
  inGroup(group: number): boolean;
  save(): void;
  /**
   * Writes an event to the log (the profile region's ring: records of type Pr.EVENT, read
   * with `eventOf`), timed now; while the clock is not set since the start, it waits in
   * RAM (at most 6) and is written, with its own time, when it is. Code 0 writes nothing.
   * Returns the number of the newest event written (0: none yet).
   */
  event(code: number, data: number): number;
  /**
   * The billing registers of an electricity meter (null for water and gas): rates 1 to 4
   * (1-0:1.8.1 to 1.8.4, adding up to the total), the billing period's maximum demand
   * (1-0:1.6.0) and the previous period's (1-0:1.6.0*101), each with its time.
   */
  billing(): Billing | null;
  /** Saves the register when it changed and maxSaveS has passed since the last save (the meter calls it every 10 s: one timer for both). */
  tick(): void;
}

export function obisFor(kind: number): Uint8Array {
  return new U8(kind === Kind.WATER ? [8, 0, 1, 0, 0, 255] : kind === Kind.GAS ? [7, 0, 3, 0, 0, 255] : [1, 0, 1, 8, 0, 255]);
}

/** `cause`: this start's reset cause (the POWER_DOWN event's data). */
export function startMetering(kind: number, clock: Clock, pulse: PulseInput | null, regs: RecordLog, prof: RecordLog, initialGroups: number[], cause?: number): Metering {
  var s = defaultSettings();
  // billing (rates, demand) is an electricity meter's: any kind but water and gas, as obisFor counts
  var electric = kind !== Kind.WATER && kind !== Kind.GAS;
  var b = regs.read(Rec.SETTINGS);
  if (b && b.length >= 12) {
    s.constant = getU32(b, 0);
    s.intervalS = getU16(b, 4);
    s.savePulses = getU16(b, 6);
    s.minSaveS = getU16(b, 8);
    s.maxSaveS = getU16(b, 10);
    // (12 bytes long: a record from before HOME, no concentrator)
    if (b.length >= 14) s.home = getU16(b, 12);
  }
  var groups: number[] = [], i: number;
  var g = regs.read(Rec.GROUPS);
  if (g) for (i = 0; i + 4 <= g.length; i += 4) groups.push(getU32(g, i));
  else for (var j = 0; j < initialGroups.length && j < Lm.MAX_GROUPS; j++) groups.push(initialGroups[j]);
  var r = regs.read(Rec.REG);
  var pulses = r ? getU32(r, 0) : 0;
  var saved = pulses;
  // the number of the last event written (kept in the register's record too: the ring may
  // have let go of every event by now)
  var evn = r && r.length >= 12 ? getU32(r, 8) : 0;
  // (the newest event record in the ring has the highest number: events are written in order)
  b = prof.read(Pr.EVENT);
  if (b && getU32(b, 0) > evn) evn = getU32(b, 0);
  // events before the clock is set (null once it was): code, data, clock seconds each, and
  // their count (a Uint32Array: the records' type, already made; a Float64Array's
  // constructor would cost the Original variables of its own)
  var pend: Uint32Array | null = new U32(Pending.COUNT + 1);
  var bootRec = regs.read(Rec.BOOT);
  var boots = (bootRec ? getU32(bootRec, 0) : 0) + 1;
  // one buffer for the billing state (Bl: u32 words), the tariff settings (Tf: bytes from
  // Bl.N x 4) and the record scratch (20 bytes after them): each typed array of its own holds
  // a buffer and its bytes, variables the Original keeps for good
  var bill = new U32(Bl.N + Tf.LEN / 4 + 5);
  var tar = new U8(bill.buffer, Bl.N * 4, Tf.LEN), scratch = new U8(bill.buffer, Bl.N * 4 + Tf.LEN, 20);
  putU32(scratch, 0, boots);
  regs.append(Rec.BOOT, sub(scratch, 0, 4));
  // bytes 4 to 7: the last time the meter knew it was running (the register's save, at least
  // every interval end), kept there from the record (no variable of its own: each costs the
  // Original one for good)
  if (r && r.length >= 8) scratch.set(sub(r, 4, 8), 4);

  // the billing state (Bl) and the tariff settings (Tf), read back from their records (the
  // setup's variables are taken again: each kept in this closure costs the Original one for good)
  b = regs.read(Rec.TARIFF);
  if (b && b.length >= Tf.LEN) tar.set(sub(b, 0, Tf.LEN));
  // no schedule yet: no switch on either day type (rate 1 all day), UTC, no billing day
  else for (i = 0; i < Tf.SCHEDULE; i++) tar[i] = Tf.NO_SWITCH;
  b = regs.read(Rec.RATES);
  g = regs.read(Rec.DEMAND);
  for (i = 0; i < Bl.HALF; i++) {
    bill[i] = b ? getU32(b, i * 4) : 0;
    bill[Bl.HALF + i] = g ? getU32(g, i * 4) : 0;
  }
  // no rates kept (or a register that started again): everything so far is rate 1's
  if (!b || !r || bill[Bl.SETTLED] > pulses) { bill[Bl.RATE] = 1; bill[Bl.SETTLED] = pulses; bill[2] = bill[3] = bill[4] = 0; }
  b = g = null;
  var lastSaveMs = clock.now();
  var timeBase = 0; // unix seconds at clock ms 0; 0 = not set
  var ivStart = 0, ivPulses = 0, ivStatus = Iv.POWER_FAIL | Iv.PARTIAL, ivTimer = 0;

  /** The interval clock: wall time when set, else seconds since start (timeBase is 0 then). */
  function ivNow(): number {
    return timeBase + clock.now() / 1000;
  }
  function wall(): number {
    return timeBase ? floor(ivNow()) : 0;
  }
  /** The start of the interval that holds `t` (seconds on the interval clock). */
  function ivFloor(t: number): number {
    return floor(t / s.intervalS) * s.intervalS;
  }
  function conv(p: number): number {
    return floor((p * 1000) / s.constant);
  }

  function save(): void {
    putU32(scratch, 0, pulses);
    // (a save before the clock is set keeps the last time known: a start that never got its clock does not hide the outage)
    if (timeBase) putU32(scratch, 4, wall());
    putU32(scratch, 8, evn);
    regs.append(Rec.REG, sub(scratch, 0, 12));
    saved = pulses;
    lastSaveMs = clock.now();
  }

  /** The SETTINGS record: constant u32, then intervalS, savePulses, minSaveS and maxSaveS u16 (key k's at 2k), home u16. */
  function settingsBytes(): Uint8Array {
    var o = new U8(14);
    putU32(o, 0, s.constant);
    putU16(o, 4, s.intervalS);
    putU16(o, 6, s.savePulses);
    putU16(o, 8, s.minSaveS);
    putU16(o, 10, s.maxSaveS);
    putU16(o, 12, s.home);
    return o;
  }

  /**
   * An event: written as one record (number, code, time and data: 13 bytes), timed `t` or now;
   * while the clock waits to be set since the start, kept in RAM instead (the RAM this file
   * keeps for good costs the Original's variables at the download's peak: one function, no
   * more, docs/meter.md, Event log)
   */
  function event(code: number, data: number, t?: number): number {
    if (!code) return evn;
    var k = pend ? pend[Pending.COUNT] : 0;
    if (pend) {
      if (k < Pending.MAX) {
        pend[k * 3] = code;
        pend[k * 3 + 1] = data;
        pend[k * 3 + 2] = floor(clock.now() / 1000);
        pend[Pending.COUNT] = k + 1;
      }
      return evn;
    }
    var o = new U8(13);
    putU32(o, 0, ++evn);
    o[4] = code;
    putU32(o, 5, t === undefined ? wall() : t);
    putU32(o, 9, data);
    prof.append(Pr.EVENT, o);
    // an install's outcome is written once (the boot journal tells it at every start): kept as written
    if (code === Ev.FW_REVERTED || code === Ev.FW_FAILED) {
      putU16(o, 0, data);
      regs.append(Rec.OUTCOME, sub(o, 0, 2));
    }
    return evn;
  }

  function closeInterval(): void {
    var o = new U8(16);
    var end = pulses;
    var st = ivStatus | (timeBase ? 0 : Iv.CLOCK_NOT_SET);
    if (conv(end) > 0xffffffff) st |= Iv.OVERFLOW;
    putU32(o, 0, floor(ivStart));
    putU32(o, 4, end);
    putU32(o, 8, ivPulses);
    putU16(o, 12, st);
    putU16(o, 14, s.intervalS);
    prof.append(Pr.INTERVAL, o);
    save();
    // block demand (the load profile's interval is the demand period): average power over a
    // whole interval on a set clock, in W; a new maximum of the billing period is kept
    if (electric && !(st & (Iv.PARTIAL | Iv.POWER_FAIL | Iv.CLOCK_ADJUSTED | Iv.CLOCK_NOT_SET))) {
      var w = floor(((conv(end) - conv(end - ivPulses)) * 3600) / s.intervalS);
      if (w > bill[Bl.MAX]) {
        bill[Bl.MAX] = w;
        bill[Bl.MAX_AT] = ivStart + s.intervalS;
        billTick(Bt.DEMAND);
      }
    }
  }

  /**
   * Tariff and billing period, on the local clock (calendar.ts): the rate the schedule gives
   * now comes into force (the register saved first, then RATES: a cut between them leaves
   * every pulse to the rate that was in force when it came); the billing period ends now
   * (Bt.END) or at the billing day's local midnight once it has passed (DEMAND written before
   * the event: a cut between them ends the period once). Only an electricity meter with its
   * clock set. Bt.DEMAND: only writes DEMAND (a new maximum). One function for all three:
   * each function kept costs the Original variables for good.
   */
  function billTick(mode?: number): void {
    var todo = mode === Bt.DEMAND ? Bt.DEMAND : 0, ended = false, end = 0, k: number;
    if (!todo) {
      if (!electric || !timeBase) return;
      var now = wall(), loc = localSeconds(now, (getU16(tar, Tf.OFFSET) << 16) >> 16, tar[Tf.RULE]);
      var ld = floor(loc / 86400), q = floor((loc - ld * 86400) / 900), wd = (ld + 4) % 7;
      // weekend: Saturday and Sunday (1970-01-01 was a Thursday)
      var at = wd === 0 || wd === 6 ? Tf.WEEKEND : 0, rate = 1;
      for (k = 0; k < Tf.SWITCHES && tar[at + 2 * k] <= q; k++) rate = tar[at + 2 * k + 1];
      if (rate !== bill[Bl.RATE]) {
        save();
        if (bill[Bl.RATE] > 1) bill[bill[Bl.RATE]] += pulses - bill[Bl.SETTLED];
        bill[Bl.SETTLED] = pulses;
        bill[Bl.RATE] = rate;
        todo = Bt.RATES;
      }
      var day = tar[Tf.DAY], dom = day ? dayOfMonth(ld) : 0;
      // this month's billing day's local midnight, in UTC (at today's offset)
      end = mode === Bt.END ? now : (ld - dom + day) * 86400 - (loc - now);
      if (mode === Bt.END || day && dom >= day && bill[Bl.START] && bill[Bl.START] < end) {
        bill[Bl.PREV] = bill[Bl.MAX];
        bill[Bl.PREV_AT] = bill[Bl.MAX_AT];
        bill[Bl.MAX] = bill[Bl.MAX_AT] = 0;
        bill[Bl.START] = end;
        ended = true;
        todo |= Bt.DEMAND;
      } else if (!bill[Bl.START]) {
        // the first period starts with the first clock
        bill[Bl.START] = now;
        todo |= Bt.DEMAND;
      }
    }
    // RATES is the billing state's first half, DEMAND its second
    for (var t = Bt.RATES; t <= Bt.DEMAND; t++) {
      if (!(todo & t)) continue;
      var o = new U8(Bl.HALF * 4), from = t === Bt.RATES ? 0 : Bl.HALF;
      for (k = 0; k < Bl.HALF; k++) putU32(o, k * 4, bill[from + k]);
      regs.append(t === Bt.RATES ? Rec.RATES : Rec.DEMAND, o);
    }
    if (ended) event(Ev.BILLING_END, bill[Bl.PREV], end);
  }

  /** The next interval end or quarter hour (the tariff's step), whichever comes first. */
  function schedule(): void {
    if (ivTimer) clock.clear(ivTimer);
    var now = ivNow(), step = s.intervalS < 900 ? s.intervalS : 900;
    ivTimer = clock.setTimeout(boundary, math.ceil((floor(now / step) * step + step - now) * 1000));
  }

  function boundary(): void {
    ivTimer = 0;
    if (ivFloor(ivNow()) !== ivStart) {
      closeInterval();
      ivStart = ivFloor(ivNow());
      ivPulses = 0;
      ivStatus = 0;
    }
    billTick();
    schedule();
  }

  // this start's outage: written when the clock is set (the power-up's time is known then)
  // (a register never saved: its first start, or its record lost; no outage to time then)
  // (here, after the functions: the interpreter does not hoist them)
  if (r) event(Ev.POWER_DOWN, cause || 0);
  event(Ev.POWER_UP, 0);
  if (!r) event(Ev.REGISTER_RESET, boots);
  r = null;
  ivStart = ivFloor(ivNow());
  schedule();

  if (pulse) pulse.start(function () {
    pulses = (pulses + 1) >>> 0;
    ivPulses++;
    if (pulses - saved >= s.savePulses && clock.now() - lastSaveMs >= s.minSaveS * 1000) save();
  }, 20);

  /** The groups as the GROUPS record and setting hold them: u32 each. */
  function groupBytes(): Uint8Array {
    var o = new U8(groups.length * 4);
    for (var i = 0; i < groups.length; i++) putU32(o, i * 4, groups[i]);
    return o;
  }

  return {
    tick: function () {
      if (pulses !== saved && clock.now() - lastSaveMs >= s.maxSaveS * 1000) save();
    },
    kind: kind,
    settings: s,
    groups: groups,
    boots: boots,
    pulses: function () { return pulses; },
    savedPulses: function () { return saved; },
    wallTime: wall,
    event: event,
    setTime: function (unix) {
      var old = wall();
      ivStatus |= Iv.CLOCK_ADJUSTED;
      // the clock moved to another interval: the running one ends here, the next starts on the new clock's boundary
      var start = ivFloor(unix);
      if (start !== ivStart) {
        closeInterval();
        ivStart = start;
        ivPulses = 0;
        ivStatus = Iv.CLOCK_ADJUSTED | Iv.PARTIAL;
      }
      timeBase = unix - clock.now() / 1000;
      if (pend) {
        // the clock is set for the first time since the start: the waiting events go to flash
        // with their times (the outage: from the last time known before the start to the start)
        var p = pend, up = 0, aliveAt = getU32(scratch, 4);
        pend = null;
        for (var k = 0; k < p[Pending.COUNT]; k++) {
          // (`at`: when it happened by the new clock; the start's clock seconds then need not be 0: the Linux build's clock is the system's)
          var code = p[k * 3], at = floor(timeBase + p[k * 3 + 2]);
          if (code === Ev.POWER_DOWN) { event(code, p[k * 3 + 1], aliveAt); up = aliveAt; }
          // POWER_UP's data: the outage's seconds, from the last time known before it
          else event(code, code === Ev.POWER_UP ? (up && at > up ? at - up : 0) : p[k * 3 + 1], at);
        }
      }
      // moved by a second or more: an adjustment, timed by the new clock (the first set after a start writes the outage instead)
      else if (old !== unix) event(Ev.CLOCK_ADJUSTED, old);
      billTick();
      schedule();
    },
    register: function () {
      return { obis: obisFor(kind), unit: electric ? 30 : 13, scaler: electric ? 0 : -3, value: conv(pulses) % 4294967296, status: timeBase ? 0 : RegStatus.CLOCK_NOT_SET };
    },
    profile: function (from, count) {
      if (count > 40) count = 40;
      // `before`: the end of the newest wall-clock interval before `from`. The intervals between
      // it and the first one from `from` on that the meter has none of (it was off) are answered
      // MISSING, from the first at or after `from` and `before`, when they fit the answer; a
      // longer gap (an outage of days, a clock set far ahead) is not filled: the answer starts
      // after it, as the events say what happened
      var start = -1, period = 0, before = -1;
      var slots: ProfileSlot[] = [];
      prof.forEach(function (t, _seq, p) {
        if (t !== Pr.INTERVAL) return;
        var st = getU32(p, 0), per = getU16(p, 14);
        if (start < 0) {
          if (st < from) {
            if (!(getU16(p, 12) & Iv.CLOCK_NOT_SET)) before = st + per;
            return;
          }
          start = before >= 0 && (st - before) % per === 0 ? before + math.max(0, math.ceil((from - before) / per)) * per : st;
          if ((st - start) / per >= count) start = st;
          period = per;
        }
        if (per !== period) return;
        var k = (st - start) / period;
        if (k < slots.length || k >= count || k % 1) return;
        while (slots.length < k) slots.push({ value: 0, status: Iv.MISSING });
        var end = getU32(p, 4), n = getU32(p, 8);
        slots.push({ value: conv(end) - conv(end - n), status: getU16(p, 12) });
      });
      return start < 0 ? null : { start: start, period: period, slots: slots };
    },
    getSetting: function (key) {
      if (key === Key.KIND) return new U8([kind]);
      // TARIFF, ZONE and BILLING_DAY: views of their bytes in the TARIFF record (the reply copies them at once); BILLING: the period's start
      if (key === Key.TARIFF) return sub(tar, 0, Tf.SCHEDULE);
      if (key === Key.ZONE) return sub(tar, Tf.OFFSET, Tf.DAY);
      if (key === Key.BILLING_DAY) return sub(tar, Tf.DAY);
      if (key === Key.BILLING) { var o = new U8(4); putU32(o, 0, bill[Bl.START]); return o; }
      if (key === Key.GROUPS) return groupBytes();
      if (key !== Key.HOME && (key < Key.CONSTANT || key > Key.MAX_SAVE)) return null;
      // the others' bytes are their fields of the SETTINGS record: HOME's its last two,
      // CONSTANT's its first four, key k's (u16) at 2k
      return sub(settingsBytes(), key === Key.HOME ? 12 : key === Key.CONSTANT ? 0 : 2 * key, key === Key.HOME ? 14 : 2 * key + 2);
    },
    setSetting: function (key, value) {
      // the value of a u16 setting, -1 when it is not 2 bytes long (each key's check refuses it)
      var v = value.length === 2 ? getU16(value, 0) : -1;
      if (key === Key.CONSTANT) {
        v = value.length === 4 ? getU32(value, 0) : 0;
        if (v < 1 || v > 1000000) return Err.CONFIG_BAD_VALUE;
        save();
        s.constant = v;
      } else if (key === Key.INTERVAL) {
        if ([60, 300, 600, 900, 1800, 3600].indexOf(v) < 0) return Err.CONFIG_BAD_VALUE;
        closeInterval();
        ivStatus = Iv.PARTIAL;
        s.intervalS = v;
        ivStart = ivFloor(ivNow());
        ivPulses = 0;
        schedule();
      } else if (key === Key.SAVE_PULSES) {
        if (v < 1) return Err.CONFIG_BAD_VALUE;
        s.savePulses = v;
      } else if (key === Key.MIN_SAVE) {
        if (v < 0 || v > s.maxSaveS) return Err.CONFIG_BAD_VALUE;
        s.minSaveS = v;
      } else if (key === Key.MAX_SAVE) {
        if (v < 60 || v < s.minSaveS) return Err.CONFIG_BAD_VALUE;
        s.maxSaveS = v;
      } else if (key === Key.TARIFF) {
        // each day type's switches from quarter 0 on, in order, rates 1 to 4; 255 ends them (all 255: no schedule)
        if (value.length !== Tf.SCHEDULE) return Err.CONFIG_BAD_VALUE;
        for (var k = 0; k < Tf.SCHEDULE; k += 2) {
          var q = value[k], rt = value[k + 1];
          if (q === Tf.NO_SWITCH ? rt !== Tf.NO_SWITCH : q >= Tf.QUARTERS || rt < 1 || rt > Tf.RATES || (k % Tf.WEEKEND ? q <= value[k - 2] || value[k - 2] === Tf.NO_SWITCH : q)) return Err.CONFIG_BAD_VALUE;
        }
        tar.set(value, 0);
      } else if (key === Key.ZONE) {
        // offset minutes (i16, whole quarter hours: the tariff's quarters stay on UTC's), rule (Dst)
        v = value.length === 3 ? (getU16(value, 0) << 16) >> 16 : 1;
        if (v % 15 || v < Tf.MIN_OFFSET || v > Tf.MAX_OFFSET || value[2] > Dst.EU) return Err.CONFIG_BAD_VALUE;
        tar.set(value, Tf.OFFSET);
      } else if (key === Key.BILLING_DAY) {
        if (value.length !== 1 || value[0] > Tf.MAX_DAY) return Err.CONFIG_BAD_VALUE;
        tar[Tf.DAY] = value[0];
      } else if (key === Key.HOME) {
        // the meter's concentrator (0 none: it hears every concentrator again)
        if (v < 0 || v > P.MAX_CONC) return Err.CONFIG_BAD_VALUE;
        // (the same again, a claim or hand-over retried: nothing to write)
        if (v === s.home) return 0;
        s.home = v;
      } else if (key === Key.BILLING) {
        // ends the billing period now (any value): it needs the clock, and an electricity meter
        if (!electric) return Err.CONFIG_BAD_VALUE;
        if (!timeBase) return Err.CLOCK_NOT_SET;
        billTick(Bt.END);
        return 0;
      } else if (key === Key.KIND || key === Key.GROUPS) return Err.CONFIG_BAD_VALUE;
      else return Err.CONFIG_UNKNOWN_KEY;
      if (key >= Key.TARIFF && key !== Key.HOME) {
        regs.append(Rec.TARIFF, tar);
        billTick();
      } else regs.append(Rec.SETTINGS, settingsBytes());
      event(Ev.CONFIG_CHANGED, key);
      return 0;
    },
    setGroup: function (op, group) {
      var at = groups.indexOf(group);
      if (op === Gop.JOIN) {
        if (at >= 0) return 0;
        if (groups.length >= Lm.MAX_GROUPS) return Err.GROUP_FULL;
        if (group === 0 || group === 0xffffffff) return Err.BAD_ARG;
        groups.push(group);
      } else if (op === Gop.LEAVE) {
        if (at < 0) return 0;
        groups.splice(at, 1);
      } else if (op === Gop.LEAVE_ALL) groups.length = 0;
      else return Err.BAD_ARG;
      regs.append(Rec.GROUPS, groupBytes());
      event(Ev.CONFIG_CHANGED, Key.GROUPS);
      return 0;
    },
    inGroup: function (group) { return groups.indexOf(group) >= 0; },
    billing: function () {
      if (!electric) return null;
      // rates 2 to 4 from their pulses, rate 1 the rest of the total (their sum is the total, to the Wh)
      var v = [0, conv(pulses) % 4294967296, 0, 0, 0], out: BillingRegister[] = [], now = wall(), st = timeBase ? 0 : RegStatus.CLOCK_NOT_SET;
      for (var k = 2; k <= Tf.RATES; k++) v[1] -= v[k] = conv(bill[k] + (bill[Bl.RATE] === k ? pulses - bill[Bl.SETTLED] : 0));
      for (k = 1; k <= Tf.RATES + 2; k++) {
        out.push({
          obis: new U8([1, 0, 1, k > Tf.RATES ? 6 : 8, k > Tf.RATES ? 0 : k, k > Tf.RATES + 1 ? 101 : 255]),
          unit: k > Tf.RATES ? Unit.W : Unit.WH, scaler: 0, status: st,
          value: k <= Tf.RATES ? v[k] : k > Tf.RATES + 1 ? bill[Bl.PREV] : bill[Bl.MAX],
          at: k <= Tf.RATES ? now : k > Tf.RATES + 1 ? bill[Bl.PREV_AT] : bill[Bl.MAX_AT],
        });
      }
      return { time: now, rate: bill[Bl.RATE], start: bill[Bl.START], regs: out };
    },
    save: save,
  };
}
