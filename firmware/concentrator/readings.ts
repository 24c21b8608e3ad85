/*
 * Reading collection: a round asks every meter in the registry for its registers
 * (READ_REQ), one after another, with retries and a growing pause; each register read is
 * appended to the readings file before it counts as collected, so a concentrator power
 * cut loses none that were reported collected. The file holds one line per reading:
 *   meter id,OBIS A-B:C.D.E,value,unit,scaler,time
 * and exports as CSV or JSON lines with the value scaled and the unit named.
 */
import type { Clock } from "../../hal/types";
import { P, T } from "../protocol/catalogue";
import { Msg, newMsg } from "../protocol/codec";
import type { Endpoint } from "../link/endpoint";
import type { Registry } from "./registry";

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
  /** Starts a round (of every meter, or only registry index `only`) unless one runs; `done(collected, missed)` at its end. */
  round(done: (collected: number, missed: number) => void, only?: number): boolean;
  onMessage(m: Msg, nowS: number): boolean;
  busy(): boolean;
}

var ALL = new Uint8Array([255, 255, 255, 255, 255, 255]);
var UNITS: { [u: number]: string } = { 30: "Wh", 32: "varh", 13: "m3", 27: "W" };

export function obisText(o: Uint8Array): string {
  return o[0] + "-" + o[1] + ":" + o[2] + "." + o[3] + "." + o[4];
}

export function collector(ep: Endpoint, clock: Clock, reg: Registry, file: LineFile, o: ReadingOptions): Collector {
  var cur = -1, end = 0, attempt = 0, waitSeq = -1, timer = 0, seq = 0, got = 0, missed = 0;
  var finish: ((c: number, m: number) => void) | null = null;
  var tx = newMsg();

  function ask(): void {
    if (cur >= end) {
      cur = -1;
      var f = finish;
      finish = null;
      if (f) f(got, missed);
      return;
    }
    tx.type = T.READ_REQ; tx.flags = 0; tx.seq = seq = (seq + 1) & 0xffff; tx.src = P.BROADCAST_ID;
    tx.mode = P.TO_METER; tx.dst = reg.id(cur);
    tx.body = { what: 1, obis: ALL, from: 0, count: 0 };
    if (ep.send(tx)) { timer = clock.setTimeout(ask, 100); return; }
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
    round: function (done, only) {
      if (cur >= 0) return false;
      finish = done;
      got = 0;
      missed = 0;
      cur = only === undefined ? 0 : only;
      end = only === undefined ? reg.count() : only + 1;
      attempt = 0;
      ask();
      return true;
    },
    onMessage: function (m, nowS) {
      if (cur < 0 || waitSeq < 0 || m.type !== T.READINGS || m.src !== reg.id(cur)) return false;
      if (timer) clock.clear(timer);
      timer = 0;
      waitSeq = -1;
      var regs = m.body.regs;
      for (var i = 0; i < regs.length; i++) {
        var r = regs[i];
        // persisted first: only then is it collected
        file.append(m.src + "," + obisText(r.obis) + "," + r.value + "," + r.unit + "," + r.scaler + "," + (m.body.time || nowS));
        got++;
      }
      attempt = 0;
      cur++;
      ask();
      return true;
    },
  };
}

/** The readings file as CSV (with a header) or JSON lines, value scaled, unit named. */
export function exportReadings(file: LineFile, format: string, out: (line: string) => void): number {
  var n = 0;
  if (format === "csv") out("meter,obis,value,unit,time");
  file.forEach(function (line) {
    var f = line.split(",");
    if (f.length !== 6) return;
    var scaler = +f[4], v = +f[2];
    var value = scaler < 0 ? (v / Math.pow(10, -scaler)).toFixed(-scaler) : String(v * Math.pow(10, scaler));
    var unit = UNITS[+f[3]] || "unit" + f[3];
    if (format === "csv") out(f[0] + "," + f[1] + "," + value + "," + unit + "," + f[5]);
    else out("{\"meter\":" + f[0] + ",\"obis\":\"" + f[1] + "\",\"value\":" + value + ",\"unit\":\"" + unit + "\",\"time\":" + f[5] + "}");
    n++;
  });
  return n;
}
