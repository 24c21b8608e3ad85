import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Ev, EVENT_NAMES } from "../../../firmware/protocol/catalogue";

describe("event codes", () => {
  it("have one name each, IDIS's codes below 230 and ours from 230", () => {
    const names = Object.values(EVENT_NAMES);
    expect(new Set(names).size).toBe(names.length);
    expect(EVENT_NAMES[Ev.POWER_DOWN]).toBe("POWER_DOWN");
    expect(EVENT_NAMES[Ev.POWER_UP]).toBe("POWER_UP");
    expect(EVENT_NAMES[Ev.CLOCK_ADJUSTED]).toBe("CLOCK_ADJUSTED");
    expect(EVENT_NAMES[Ev.FW_READY]).toBe("FW_READY");
    expect(EVENT_NAMES[Ev.FW_ACTIVATED]).toBe("FW_ACTIVATED");
    expect(EVENT_NAMES[Ev.AUTH_FAILED]).toBe("AUTH_FAILED");
    expect(EVENT_NAMES[Ev.CONFIG_CHANGED]).toBe("CONFIG_CHANGED");
    expect(EVENT_NAMES[Ev.FW_REFUSED]).toBe("FW_REFUSED");
    expect(EVENT_NAMES[Ev.EVENTS_LOST]).toBe("EVENTS_LOST");
    // IDIS: power down 1, power up 2, clock adjusted (new) 5, firmware ready 17, activated 18
    expect([Ev.POWER_DOWN, Ev.POWER_UP, Ev.CLOCK_ADJUSTED, Ev.FW_READY, Ev.FW_ACTIVATED]).toEqual([1, 2, 5, 17, 18]);
    for (const code of Object.keys(EVENT_NAMES).map(Number)) expect(code >= 1 && code <= 255).toBe(true);
  });

  it("are the rows of docs/meter.md's event code table, code and name", () => {
    const doc = readFileSync(new URL("../../../docs/meter.md", import.meta.url), "utf8");
    const table = doc.slice(doc.indexOf("### Event codes"));
    const rows = [...table.matchAll(/^\| (\d+) \| ([A-Z_]+) \|/gm)].map((m) => [+m[1], m[2]]);
    expect(rows).toEqual(Object.entries(EVENT_NAMES).map(([c, n]) => [+c, n]));
  });
});
