import { describe, expect, it } from "vitest";
import { entrySource } from "../../bench/decode-cost";

/*
 * bench/decode-cost.ts counts the decode in received blocks: the same run's frames, from the
 * modem's bytes to the block stored. Until 2026-12-03 the repair phase built each frame
 * (the message encoded, framed and made a string: the concentrator's work, about 2 ms here)
 * inside the timed call, while the receive phase built it before: every kept repair frame
 * looked 2 ms dearer than a received block, and "the whole decode less receiving its
 * frames" about 35 received blocks larger than the meter's work. The program's one timed
 * delivery is deliver(): these checks hold its text to that.
 */
describe("decode-cost's program", () => {
  const src = entrySource();
  const calls = [...src.matchAll(/\bdeliver\(([^()]*)\)/g)].map((m) => m[1]);

  it("times a frame inside deliver() alone, from before the modem's bytes to after its answers", () => {
    const body = /function deliver\(f\) \{([^}]*)\}/.exec(src);
    expect(body, "deliver() is defined").not.toBeNull();
    expect(body![1]).toMatch(/var t0 = getTime\(\);.*modemIn\(f\);.*pump\(\);.*took = getTime\(\) - t0;/);
  });

  it("hands deliver() frames already built: every call's argument is a name, never a frameOf(...) call", () => {
    expect(calls.length).toBeGreaterThanOrEqual(3);
    for (const a of calls) expect(a, `deliver(${a})`).toMatch(/^[A-Za-z_$][\w$]*$/);
    expect(src).not.toMatch(/deliver\(\s*frameOf\(/);
  });

  it("reads every frame's time from deliver()'s own measure, not from a clock started around it", () => {
    // a getTime() taken on the line before a deliver() call would time what happens between them
    const lines = src.split("\n");
    lines.forEach((l, i) => {
      if (/\bdeliver\([A-Za-z_$]/.test(l) && !/function deliver/.test(l)) expect(lines[i - 1], `line before ${l.trim()}`).not.toMatch(/=\s*getTime\(\)/);
    });
    expect(src).toMatch(/dt = took;/);
    expect(src).toMatch(/dt = took \* 1000;/);
    expect(src).toMatch(/res\.controlMs = took \* 1000;/);
  });
});
