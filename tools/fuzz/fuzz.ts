/*
 * Long fuzz runs of every decoder on the device: the message decoder, the missing-set
 * reader, the ST7580 framer and the transparent deframer. CI runs 100,000 inputs per
 * decoder through fast-check (test/unit/protocol/decoders-survive-random-bytes); this
 * script runs as many as you ask, from a seed, and prints what the inputs turned into.
 *
 *   npm run fuzz -- [--runs N] [--seed S]
 *
 * Exits 1 with one line (the decoder, the seed, what went wrong and the input) if any decoder
 * throws or breaks its bounds; 2 for a bad argument (tools/cli/cli.ts).
 */
import { decodeMsg, newMsg } from "../../firmware/protocol/codec";
import { forEachMissing } from "../../firmware/protocol/missing";
import { st7580Framer } from "../../firmware/link/st7580/frame";
import { transparentDeframer } from "../../firmware/link/transparent/frame";
import { hostNative } from "../../hal/mock/native";
import { Rng } from "../../hal/mock/rng";
import { cli, int, isMain, ToolError, type Parsed, type Tool } from "../cli/cli";
import { errName } from "../errors/table";

export const TOOL: Tool = {
  name: "fuzz", run: "npm run fuzz --",
  about: "Random inputs into every decoder on the device (the message decoder, the missing-set reader, the\nST7580 framer, the transparent deframer), from a seed; prints what the inputs turned into.",
  options: {
    runs: { type: "string", value: "N", default: "1000000", help: "inputs per decoder" },
    seed: { type: "string", value: "S", help: "the random seed, 0 to 4294967294 (default: from the clock)" },
  },
  examples: ["npm run fuzz -- --runs 100000 --seed 7"],
  notes: ["exit 0 when every decoder survived; 1 (with the seed and the input) when one threw or broke its bounds"],
};

function fuzz({ values: v }: Parsed): void {
  const runs = int("--runs", v.runs as string, 0, 1e9)!;
  const seed = int("--seed", v.seed as string | undefined, 0, 0xfffffffe) ?? Date.now() % 0xffffffff;
  const rng = new Rng(seed);

  function bytes(max: number): Uint8Array {
    const b = new Uint8Array(rng.int(max + 1));
    for (let i = 0; i < b.length; i++) b[i] = rng.int(256);
    return b;
  }

  function fail(what: string, input: Uint8Array | object, e: unknown): never {
    const at = e instanceof Error ? (e.stack ?? "").split("\n").find((l) => /^\s+at /.test(l))?.trim() : undefined;
    throw new ToolError(`${what} failed (seed ${seed}): ${e instanceof Error ? e.message : String(e)}${at ? ` (${at})` : ""}; input ${input instanceof Uint8Array ? Buffer.from(input).toString("hex") : JSON.stringify(input)}`);
  }

  const outcomes = { msg: new Map<number, number>(), missing: new Map<number, number>(), st: 0, tp: 0 };
  const bump = (m: Map<number, number>, k: number) => m.set(k, (m.get(k) ?? 0) + 1);
  const t0 = Date.now();
  const m = newMsg();
  let stEvents = 0, tpEvents = 0;
  const stCounts = { frames: 0, badChecksum: 0, garbage: 0 };
  // FRAME 1, BAD_CHECKSUM 5, GARBAGE 8 (firmware/link/st7580/frame.ts StEv)
  const st = st7580Framer((ev) => { stEvents++; if (ev === 1) stCounts.frames++; else if (ev === 5) stCounts.badChecksum++; else if (ev === 8) stCounts.garbage++; });
  const tp = transparentDeframer(242, hostNative.crc32, () => { tpEvents++; });
  const stBuf = st.data, tpBuf = tp.buf;
  let t = 0;

  for (let i = 0; i < runs; i++) {
    const b = bytes(260);
    if (b.length > 10 && rng.chance(0.5)) { b[0] = 1; b[1] = 0x10 + rng.int(0x3c); b[9] %= 3; }
    try {
      const err = decodeMsg(b, b.length, m);
      if (typeof err !== "number") throw new Error(`returned ${err}`);
      bump(outcomes.msg, err);
    } catch (e) { fail("decodeMsg", b, e); }

    const r = { received: rng.int(0x10000), firstMissing: rng.int(0x10000), form: rng.int(4), base: rng.int(0x10000), covers: rng.int(0x10000), map: bytes(204) };
    const count = 1 + rng.int(5000);
    if (rng.chance(0.5)) {
      // a plausible window, so the readers past the first checks are reached
      r.base = r.firstMissing = rng.int(count);
      r.covers = 1 + rng.int(count - r.base);
      r.form = 1 + rng.int(2);
      if (r.map.length) r.map[0] |= 0x80;
      if (r.form === 2 && r.map.length >= 4) { r.map[0] = r.base & 0xff; r.map[1] = r.base >> 8; r.map[2] = 1 + rng.int(4); r.map[3] = 0; r.map = r.map.subarray(0, 4 * (1 + rng.int(r.map.length >> 2))); }
    }
    try {
      const err = forEachMissing(r, count, (blk) => { if (blk < 0 || blk >= count) throw new Error(`named block ${blk} of ${count}`); });
      bump(outcomes.missing, err);
    } catch (e) { fail("forEachMissing", { ...r, map: Buffer.from(r.map).toString("hex"), count }, e); }

    const s = String.fromCharCode(...bytes(300));
    t += rng.int(30);
    try { st.feed(s, t); if (st.data !== stBuf) throw new Error("buffer replaced"); } catch (e) { fail("st7580Framer", bytes(0), e); }
    try { tp.feed(s, t); if (tp.buf !== tpBuf) throw new Error("buffer replaced"); } catch (e) { fail("transparentDeframer", bytes(0), e); }
  }

  const secs = (Date.now() - t0) / 1000;
  const show = (mp: Map<number, number>) => [...mp.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k === 0 ? "ok" : errName(k)} ${v}`).join(", ");
  console.log(`fuzz: ${runs} inputs per decoder, seed ${seed}, ${secs.toFixed(1)} s`);
  console.log(`  decodeMsg        ${show(outcomes.msg)}`);
  console.log(`  forEachMissing   ${show(outcomes.missing)}`);
  console.log(`  st7580Framer     ${stEvents} events, ${stCounts.frames} frames, ${stCounts.badChecksum} bad checksums, ${stCounts.garbage} garbage bytes`);
  console.log(`  transparent      ${tpEvents} events, ${tp.counts.frames} frames, ${tp.counts.badCrc} bad CRCs, ${tp.counts.tooLong} too long`);
}

if (isMain(import.meta.url)) cli(TOOL, fuzz);
