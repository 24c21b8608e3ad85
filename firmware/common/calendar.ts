/*
 * Local time for the meter's tariff schedule and billing day: the clock stays UTC (Unix
 * seconds) inside, and local time is UTC plus the zone's offset plus an hour while the
 * daylight-saving rule says so. Dates are counted from 1968-01-01, the leap year before the
 * epoch, so that every fourth year from it is a leap year: right from 1970 to 2099 (2100 is
 * not a leap year), which is the meter clock's range (TIME_SET takes u32 seconds).
 * No tables: on the Original each array held for good costs variables.
 */
import { floor, math } from "./bytes";

/** Daylight-saving rules (the ZONE setting's third byte). */
export const enum Dst {
  /** No daylight saving: local time is UTC plus the offset all year. */
  NONE = 0,
  /**
   * The European Union's: one hour more from the last Sunday of March to the last Sunday of
   * October, both at 01:00 UTC (Directive 2000/84/EC, article 2 and 3).
   */
  EU = 1,
}

/** Days from 1968-01-01 to 1970-01-01 (a const enum: a var would hold a variable on the Original for good). */
const enum Cal { EPOCH_DAYS = 731 }

/**
 * Local time in seconds on the local clock's own "Unix" scale (its day starts at a multiple
 * of 86,400): UTC `t` (Unix seconds) plus `offMin` minutes plus the rule's hour when it holds.
 */
export function localSeconds(t: number, offMin: number, rule: number): number {
  var s = t + offMin * 60;
  if (rule === Dst.EU) {
    // the UTC year of t (years since 1968) and its 1 January (days since 1968)
    var d = floor(t / 86400) + Cal.EPOCH_DAYS, y = floor((d * 4) / 1461), jan = 365 * y + math.ceil(y / 4), leap = y % 4 ? 0 : 1;
    // 31 March and 31 October (day of the year 89 and 303 past a leap day), back to their Sunday (1968-01-01 was a Monday)
    var mar = jan + 89 + leap, oct = jan + 303 + leap;
    mar -= (mar + 1) % 7;
    oct -= (oct + 1) % 7;
    if (t >= (mar - Cal.EPOCH_DAYS) * 86400 + 3600 && t < (oct - Cal.EPOCH_DAYS) * 86400 + 3600) s += 3600;
  }
  return s;
}

/** The day of the month (1 to 31) of day `ld` (days since 1970-01-01 on the local clock). */
export function dayOfMonth(ld: number): number {
  var d = ld + Cal.EPOCH_DAYS, y = floor((d * 4) / 1461), doy = d - 365 * y - math.ceil(y / 4);
  // months of 31 days but April, June, September, November (30) and February
  for (var m = 0; m < 11; m++) {
    var n = m === 1 ? (y % 4 ? 28 : 29) : 31 - ((m % 7) & 1);
    if (doy < n) break;
    doy -= n;
  }
  return doy + 1;
}
