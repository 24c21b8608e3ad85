/*
 * npm run deploy: puts an update image on a real concentrator and runs a campaign there,
 * through a console session (tools/console/session.ts):
 *   1. writes the image into the concentrator's Storage as img.bin (and the tags as img.tags),
 *      in base64 chunks, checked by length and CRC-32 read back;
 *   2. starts the campaign with meterline.update("img.bin", {...}); for a packed image, after a
 *      meterline.identify() round (the concentrator sends a packed image only to meters whose
 *      identity says their boot routine unpacks);
 *   3. asks meterline.progress() every few seconds and prints each new line, and watches for
 *      the concentrator's own "meterline: campaign N ended ..." line, until the campaign is
 *      done (exit 0, every meter updated; 1 if some failed) or aborted (exit 1).
 *
 *   npm run deploy -- --port /dev/ttyACM1 --image meter-v2.img --image-id 2 [--meters 1001,1002 | --outdated | --group 7]
 *     [--method coded|patent] [--loss PCT]   the update method (default coded) and, for it, the frame loss to plan for (default 10)
 *                     [--block-size 200] [--activate-at UNIX] [--tags img.tags] [--every 10] [--timeout S] [--stall S] [--dry-run]
 *
 * --port: the concentrator's serial device or tcp://host:port (a board runner: npm run board).
 * --image: an image file (npm run image; its header gives board, version and block size)
 * or a bare image (npm run pack). --tags: the head-end's authorisation tags for keyed
 * meters (npm run keys -- authorise), uploaded beside it. --timeout: how long one console
 * command may take (default 60 s: update() digests the whole image before it answers).
 * --stall: give up (exit 1) when the progress line has not changed for this long (default
 * 1800 s): a campaign whose engine stopped (an exception on the concentrator) never ends.
 *
 * A --port that a running head-end holds (npm run headend; tools/console/owner.ts) is used
 * through the head-end's console relay, with one line saying so, while the head-end goes on
 * pulling; --direct refuses that and fails (exit 1) with one line naming the head-end.
 *
 * --dry-run prints what would be sent and sends nothing. The concentrator's lines are printed
 * with their error codes named ("(E92)" becomes "(E92 CAMPAIGN_NO_PROGRESS: ...)",
 * tools/errors/table.ts). Every bad argument exits 2 with one line naming it; an --image or
 * --tags file that cannot be read, and a console that cannot be reached, is taken or does not
 * answer, exit 1 with the reason (tools/cli/cli.ts).
 */
import { readFileSync } from "node:fs";
import { crc32 } from "node:zlib";
import { decodeAppHeader, PACKED_MAGIC } from "../../firmware/common/image";
import { decodeImageFile, IMAGE_FILE_HEADER, isImageFile } from "../../firmware/common/image-file";
import { getU32 } from "../../firmware/common/bytes";
import { hostNative } from "../../hal/host/native";
import { ConsoleError, openConsole, parsePort, type ConsoleSession } from "../console/session";
import { cli, inputFile, int, intList, isMain, oneOf, parseTool, ToolError, UsageError, type Tool } from "../cli/cli";
import { nameCodes } from "../errors/table";
import { isTagsFile, TAGS_RECORD } from "../keys/keyfile";
import { route, throughLine } from "../console/owner";
import { Id } from "../../firmware/protocol/catalogue";

export class DeployError extends ToolError {}

export interface DeployArgs {
  port: string; image: string; imageId: number; version: number; blockSize?: number;
  meters?: number[] | "outdated"; group?: number; activateAt?: number; everyS: number; dryRun: boolean;
  /** How long one console command may take, ms. */
  timeoutMs: number;
  /** Give up when the progress line has not changed for this long, ms. */
  stallMs: number;
  /** "coded" (the default) or "patent"; the frame loss the coded method plans for (percent). */
  method: "coded" | "patent"; lossPct?: number;
  /** The head-end's tags for this campaign (npm run keys -- authorise), uploaded as img.tags. */
  tags?: string;
  /** The image is an image file (npm run image): board, version and block size come from its header. */
  imageFile: boolean;
  /** Never through a head-end that holds the port (tools/console/owner.ts): fail naming it instead. */
  direct?: boolean;
}

export const TOOL: Tool = {
  name: "deploy", run: "npm run deploy --",
  about: "Puts an update image on a concentrator and runs a campaign there, through its console: writes the\nimage (and the tags) into its Storage, checked by CRC-32 read back; starts the campaign; follows\nmeterline.progress() to the end (device error codes named).",
  options: {
    port: { type: "string", value: "P", required: true, help: "the concentrator's serial device or tcp://host:port" },
    image: { type: "string", value: "FILE", required: true, help: "an image file (npm run image) or a bare image (npm run pack)" },
    "image-id": { type: "string", value: "N", required: true, help: "the campaign's image id, 1 to 65535, new for each campaign" },
    meters: { type: "string", value: "IDS", help: "only these meters (comma-separated ids)" },
    outdated: { type: "boolean", default: false, help: "only the meters not on the image's version" },
    group: { type: "string", value: "G", help: "only the meters of group G" },
    method: { type: "string", value: "M", default: "coded", help: "the update method: coded or patent" },
    loss: { type: "string", value: "PCT", help: "the frame loss the coded method plans for, percent (the concentrator's default 10)" },
    "block-size": { type: "string", value: "S", help: "bytes per block (a bare image only; an image file gives its own)" },
    "activate-at": { type: "string", value: "UNIX", help: "activate at this time (seconds since 1970) instead of when done" },
    tags: { type: "string", value: "FILE", help: "the head-end's authorisation tags for keyed meters (npm run keys -- authorise)" },
    every: { type: "string", value: "S", default: "10", help: "ask for progress every S seconds" },
    timeout: { type: "string", value: "S", default: "60", help: "how long one console command may take, seconds" },
    stall: { type: "string", value: "S", default: "1800", help: "give up when the progress line has not changed for S seconds" },
    "dry-run": { type: "boolean", default: false, help: "print what would be sent, send nothing" },
    direct: { type: "boolean", default: false, help: "never through a head-end that holds the port: fail naming it instead" },
  },
  examples: ["npm run deploy -- --port /dev/ttyACM1 --image meter-v2.mlim --image-id 2 --outdated", "npm run deploy -- --port tcp://127.0.0.1:4733 --image meter-v2.mlim --image-id 3 --group 7 --method patent --dry-run"],
  notes: ["exit 0 when every meter was updated; 1 when some failed, the campaign aborted, the console failed, the port is held\nby a head-end and --direct was given, or the image or tags file cannot be read; 2 for a bad argument",
    "a port a running head-end holds is used through the head-end's console relay (one line says so)"],
};

/** The deploy command line as DeployArgs; a UsageError naming what is wrong. */
export function parseArgs(argv: string[]): DeployArgs {
  const p = parseTool(TOOL, argv);
  if (!p) throw new UsageError("--help is not an option here");
  return deployArgs(p.values as Parameters<typeof deployArgs>[0]);
}

function deployArgs(v: Record<string, string | undefined> & { outdated: boolean; "dry-run": boolean; direct?: boolean }): DeployArgs {
  const { tags, outdated } = v;
  const port = v.port!, image = v.image!, metersArg = v.meters;
  const imageId = int("--image-id", v["image-id"], 1, 65535)!;
  const blockSize = int("--block-size", v["block-size"], 4, 212);
  const group = int("--group", v.group, 1, 0xfffffffe);
  const activateAt = int("--activate-at", v["activate-at"], 0, 0xffffffff);
  const everyS = int("--every", v.every, 1, 3600)!;
  const timeoutMs = int("--timeout", v.timeout, 1, 3600)! * 1000;
  const stallMs = int("--stall", v.stall, 1, 86400)! * 1000;
  const method = oneOf("--method", v.method!, ["coded", "patent"] as const);
  const lossPct = int("--loss", v.loss, 0, 50);
  try { parsePort(port); } catch (e) { throw new UsageError(`--port: ${(e as Error).message}`); }
  if ([metersArg !== undefined, outdated, group !== undefined].filter(Boolean).length > 1) throw new UsageError("choose one of --meters, --outdated and --group");
  if (blockSize !== undefined && blockSize % 4) throw new UsageError(`--block-size must be a multiple of 4, got ${blockSize}`);
  const meters: number[] | "outdated" | undefined = metersArg !== undefined ? intList("--meters", metersArg, 1, Id.MAX_METER) : outdated ? "outdated" : undefined;
  inputFile("--image", image);
  if (tags !== undefined) inputFile("--tags", tags);
  if (tags !== undefined && !isTagsFile(new Uint8Array(readFileSync(tags)))) throw new UsageError(`--tags ${tags}: not a tags file of npm run keys -- authorise (${TAGS_RECORD}-byte records, the block key's first)`);
  const bytes = new Uint8Array(readFileSync(image));
  const file = isImageFile(bytes) ? decodeImageFile(bytes, hostNative) : null;
  if (typeof file === "number") throw new UsageError(`--image ${image}: a damaged image file header`);
  if (file && blockSize !== undefined && blockSize !== file.blockSize) throw new UsageError(`--block-size: the image file says ${file.blockSize}`);
  const head = file ? null : decodeAppHeader(bytes, Number.MAX_SAFE_INTEGER);
  if (!file && !head) throw new UsageError(`--image ${image}: not an update image (no program header; make one with npm run image or npm run pack)`);
  return { port, image, imageId, version: file ? file.version : head!.version, blockSize: file ? undefined : blockSize, meters, group, activateAt, everyS, timeoutMs, stallMs, dryRun: v["dry-run"], tags, imageFile: !!file, method, lossPct, direct: !!v.direct };
}

/** The expression that starts the campaign on the concentrator. */
export function updateCall(d: DeployArgs): string {
  const o: Record<string, unknown> = d.imageFile ? { imageId: d.imageId } : { imageId: d.imageId, version: d.version };
  if (d.blockSize !== undefined) o.blockSize = d.blockSize;
  if (d.meters !== undefined) o.meters = d.meters;
  if (d.group !== undefined) o.group = d.group;
  if (d.activateAt !== undefined) o.activateAt = d.activateAt;
  if (d.tags !== undefined) o.tags = "img.tags";
  if (d.method === "patent") o.method = "patent";
  if (d.lossPct !== undefined) o.loss = d.lossPct / 100;
  return `meterline.update("img.bin",${JSON.stringify(o)})`;
}

/** The files deploy writes into the concentrator's Storage: img.bin, and img.tags with --tags. */
export function uploads(d: DeployArgs): { name: string; file: string; bytes: Uint8Array }[] {
  const u = [{ name: "img.bin", file: d.image, bytes: new Uint8Array(readFileSync(d.image)) }];
  if (d.tags !== undefined) u.push({ name: "img.tags", file: d.tags, bytes: new Uint8Array(readFileSync(d.tags)) });
  return u;
}

/** Whether the image file's payload is packed (npm run image -- --compress). */
export function isPacked(d: DeployArgs): boolean {
  const f = new Uint8Array(readFileSync(d.image));
  const off = isImageFile(f.subarray(0, 4)) ? IMAGE_FILE_HEADER : 0;
  return f.length >= off + 4 && getU32(f, off) === PACKED_MAGIC;
}

/** What the concentrator's "meterline: campaign N ended ..." line says: every meter updated, or not. */
export function endedOf(line: string): { ok: boolean } | null {
  if (!/^meterline: campaign \d+ ended/.test(line)) return null;
  return { ok: /ended: every meter done$/.test(line) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the campaign through an open session; returns the exit code (0 every meter updated, 1 otherwise). */
export async function runCampaign(s: ConsoleSession, d: DeployArgs, print: (l: string) => void): Promise<number> {
  // a chunk sent again or a file started again, and a console brought back (tools/console/session.ts resync)
  const retry = (why: string) => print(`deploy: ${why}; trying again`);
  const back = (rounds: number, ms: number) => print(`deploy: the console answers again after ${rounds} rounds of NUL and BEL, ESC [ 2 H and an empty command (${Math.round(ms / 1000)} s)`);
  s.on("retry", retry);
  s.on("resync", back);
  try {
    for (const u of uploads(d)) {
      print(`deploy: writing ${u.file} to ${d.port} as ${u.name} (${u.bytes.length} bytes)`);
      const w = await s.writeFile(u.name, u.bytes, { timeoutMs: d.timeoutMs });
      print(`deploy: ${u.name} written and read back: ${w.length} bytes, CRC-32 ${w.crc.toString(16).padStart(8, "0")}`);
    }
  } finally {
    s.off("retry", retry);
    s.off("resync", back);
  }
  // The concentrator's own end-of-campaign line can come at any time, inside an answer or not.
  const seen: { ended: { line: string; ok: boolean } | null; identified: string | null } = { ended: null, identified: null };
  const watch = (l: string) => {
    const e = endedOf(l);
    if (e && !seen.ended) seen.ended = { line: l, ok: e.ok };
    if (/^meterline: identify round/.test(l)) seen.identified = l;
  };
  s.on("line", watch);
  try {
    if (isPacked(d)) {
      // a packed image goes only to meters whose IDENTITY said their boot routine unpacks (the
      // others fail with 108): the concentrator asks them first
      const a = await s.command("meterline.identify()", { timeoutMs: d.timeoutMs });
      if (a.value !== "0") throw new DeployError(`identify() before a packed image: ${nameCodes(a.error ?? a.lines.filter((l) => l.startsWith("meterline:")).pop() ?? `no code (${a.value})`)}`);
      for (const t0 = Date.now(); !seen.identified; await sleep(250)) {
        if (Date.now() - t0 >= d.stallMs) throw new DeployError(`identify() before a packed image: no end of its round within ${Math.round(d.stallMs / 1000)} s (--stall)`);
      }
      print(seen.identified);
    }
    const a = await s.command(updateCall(d), { timeoutMs: d.timeoutMs });
    const started = a.lines.filter((l) => l.startsWith("meterline:"));
    for (const l of started) print(nameCodes(l));
    if (!started.some((l) => /^meterline: campaign \d+ started/.test(l))) {
      throw new DeployError(`the campaign did not start: ${nameCodes(a.error ?? started[started.length - 1] ?? "no answer from the concentrator")}`);
    }
    let last = "", changed = Date.now();
    for (;;) {
      if (!seen.ended) await sleep(d.everyS * 1000);
      // an unanswered or interrupted progress query is asked again at the next turn: the
      // campaign runs on without us, and --stall decides when waiting is pointless
      let p;
      try {
        p = await s.command("meterline.progress()", { timeoutMs: d.timeoutMs });
      } catch (e) {
        if (!(e instanceof ConsoleError) || !["NO_ANSWER", "REBOOTED", "CLOSED", "UNREACHABLE"].includes(e.code) || Date.now() - changed >= d.stallMs) throw e;
        print(`deploy: no progress line this time (${e.code}); asking again`);
        continue;
      }
      const l = p.lines.filter((x) => x.startsWith("meterline:")).pop() ?? "";
      if (l && l !== last && !endedOf(l)) { print(nameCodes(l)); last = l; changed = Date.now(); }
      const e = seen.ended;
      if (e) { print(nameCodes(e.line)); return e.ok ? 0 : 1; }
      if (/no campaign/.test(l)) throw new DeployError("the concentrator has no campaign any more (did it restart? meterline.resume(\"img.bin\"), with \"img.tags\" for keyed meters, continues it)");
      const pr = progressOf(l);
      if (pr && pr.phase === "done") return pr.updated === pr.meters ? 0 : 1;
      if (pr && pr.phase === "aborted") return 1;
      if (Date.now() - changed >= d.stallMs) throw new DeployError(`the campaign made no progress for ${Math.round(d.stallMs / 1000)} s (--stall): ${nameCodes(last) || "no progress line"}`);
    }
  } finally {
    s.off("line", watch);
  }
}

export async function deploy(d: DeployArgs, print: (l: string) => void): Promise<number> {
  if (d.dryRun) {
    for (const u of uploads(d)) print(`upload: ${u.file} as ${u.name}: ${u.bytes.length} bytes in ${Math.ceil(u.bytes.length / 768)} chunks, CRC-32 ${(crc32(u.bytes) >>> 0).toString(16).padStart(8, "0")}, to ${d.port}`);
    if (isPacked(d)) print("identify: meterline.identify() first, until its round ends (a packed image goes only to meters whose identity says their boot routine unpacks)");
    print(`start: ${updateCall(d)}`);
    print(`progress: meterline.progress() every ${d.everyS} s until the campaign is done or aborted`);
    return 0;
  }
  // a port a running head-end holds goes through its console relay (tools/console/owner.ts)
  const r = route(d.port, !!d.direct);
  if (r.via) print(`deploy: ${throughLine(d.port, r.via)}`);
  let s: ConsoleSession;
  try {
    s = await openConsole({ port: r.url, timeoutMs: d.timeoutMs });
  } catch (e) {
    if (e instanceof ConsoleError) throw new DeployError(`${e.message} (${e.code})`);
    throw e;
  }
  try {
    return await runCampaign(s, d, print);
  } catch (e) {
    if (e instanceof ConsoleError) throw new DeployError(`${e.message} (${e.code})`);
    throw e;
  } finally {
    await s.close();
  }
}

/** The phase and meter counts in a meterline.progress() line, or null. */
export function progressOf(line: string): { phase: string; updated: number; meters: number; failed: number } | null {
  const m = /^meterline: campaign ([a-z-]+),.*?(\d+) of (\d+) meters updated, (\d+) failed/.exec(line);
  return m ? { phase: m[1], updated: +m[2], meters: +m[3], failed: +m[4] } : null;
}

if (isMain(import.meta.url)) cli(TOOL, (p) => deploy(deployArgs(p.values as Parameters<typeof deployArgs>[0]), (l) => console.log(l)));
