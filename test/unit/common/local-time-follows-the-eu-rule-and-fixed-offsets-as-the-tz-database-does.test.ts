import { describe, expect, it } from "vitest";
import { dayOfMonth, Dst, localSeconds } from "../../../firmware/common/calendar";

/** Local wall-clock seconds of UTC `t` in IANA zone `tz`, from Node's time-zone database. */
const formats = new Map<string, Intl.DateTimeFormat>();
function tzLocal(t: number, tz: string): number {
  if (!formats.has(tz)) formats.set(tz, new Intl.DateTimeFormat("en-GB", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }));
  const f = formats.get(tz)!;
  const p: Record<string, number> = {};
  for (const x of f.formatToParts(new Date(t * 1000))) if (x.type !== "literal") p[x.type] = +x.value;
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) / 1000;
}

describe("local time", () => {
  it("is what the tz database says for EU zones at every hour around each change from 1996 to 2099, and for fixed offsets", () => {
    const zones: [string, number, number][] = [["Europe/Berlin", 60, Dst.EU], ["Europe/London", 0, Dst.EU], ["Europe/Helsinki", 120, Dst.EU], ["Asia/Kolkata", 330, Dst.NONE], ["America/Regina", -360, Dst.NONE]];
    let checked = 0;
    for (let y = 1996; y <= 2099; y++) {
      // every 15 minutes over the last eight days of March and of October (the changes), and a day each month
      const spans = [[Date.UTC(y, 2, 24), 8], [Date.UTC(y, 9, 24), 8], ...Array.from({ length: 12 }, (_, m) => [Date.UTC(y, m, 10), 1])];
      for (const [from, days] of spans) {
        for (let t = from / 1000; t < from / 1000 + days * 86400; t += y % 10 ? 3600 : 900) {
          for (const [tz, off, rule] of zones) {
            if (localSeconds(t, off, rule) !== tzLocal(t, tz)) expect([tz, t, localSeconds(t, off, rule) - t]).toEqual([tz, t, tzLocal(t, tz) - t]);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(300000);
  });

  it("switches on the last Sunday of March and of October at 01:00 UTC exactly", () => {
    // 2026: 29 March and 25 October
    const on = Date.UTC(2026, 2, 29, 1) / 1000, off = Date.UTC(2026, 9, 25, 1) / 1000;
    expect(localSeconds(on - 1, 60, Dst.EU) - (on - 1)).toBe(3600);
    expect(localSeconds(on, 60, Dst.EU) - on).toBe(7200);
    expect(localSeconds(off - 1, 60, Dst.EU) - (off - 1)).toBe(7200);
    expect(localSeconds(off, 60, Dst.EU) - off).toBe(3600);
    expect(localSeconds(on, 60, Dst.NONE) - on).toBe(3600);
  });

  it("gives the day of the month of every day from 1970 to 2099", () => {
    const last = Date.UTC(2099, 11, 31) / 86400000;
    for (let d = 0; d <= last; d++) {
      const want = new Date(d * 86400000).getUTCDate();
      if (dayOfMonth(d) !== want) expect([d, dayOfMonth(d)]).toEqual([d, want]);
    }
    expect(dayOfMonth(Date.UTC(2028, 1, 29) / 86400000)).toBe(29);
    expect(dayOfMonth(Date.UTC(2028, 2, 1) / 86400000)).toBe(1);
  });
});
