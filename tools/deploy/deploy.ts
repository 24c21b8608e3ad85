/*
 * npm run deploy: puts an update image on a real concentrator and runs a campaign there.
 *   1. uploads the image to the concentrator's Storage as img.bin (espruino --storage);
 *   2. starts the campaign with meterline.update("img.bin", {...}) (espruino -e);
 *   3. asks meterline.progress() every few seconds and prints each new line, until the
 *      campaign is done (exit 0, every meter updated; 1 if some failed) or aborted (exit 1).
 *
 *   npm run deploy -- --port /dev/ttyACM1 --image meter-v2.img --image-id 2 [--meters 1001,1002 | --outdated | --group 7]
 *     [--method coded|patent] [--loss PCT]   the update method (default coded) and, for it, the frame loss to plan for (default 10)
 *                     [--block-size 200] [--activate-at UNIX] [--tags img.tags] [--every 10] [--dry-run] [--cli "npx --no-install espruino --no-ble"]
 *
 * --image: an image file (npm run image; its header gives board, version and block size)
 * or a bare image (npm run pack). --tags: the head-end's authorisation tags for keyed
 * meters (npm run keys -- authorise), uploaded beside it.
 *
 * --dry-run prints the commands instead of running them. --cli replaces the espruino CLI
 * (tests give it a stand-in). Every bad argument exits 2 with one line naming it.
 */
import { existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { decodeAppHeader } from "../../firmware/common/image";
import { decodeImageFile, isImageFile } from "../../firmware/common/image-file";
import { hostNative } from "../../hal/mock/native";

export class DeployError extends Error {}

export interface DeployArgs {
  port: string; image: string; imageId: number; version: number; blockSize?: number;
  meters?: number[] | "outdated"; group?: number; activateAt?: number; everyS: number; dryRun: boolean; cli: string[];
  /** "coded" (the default) or "patent"; the frame loss the coded method plans for (percent). */
  method: "coded" | "patent"; lossPct?: number;
  /** The head-end's tags for this campaign (npm run keys -- authorise), uploaded as img.tags. */
  tags?: string;
  /** The image is an image file (npm run image): board, version and block size come from its header. */
  imageFile: boolean;
}

const DEFAULT_CLI = ["npx", "--no-install", "espruino", "--no-ble"];

export function parseArgs(argv: string[]): DeployArgs {
  const a = [...argv];
  const take = (name: string): string | undefined => {
    const i = a.indexOf(name);
    if (i < 0) return undefined;
    const v = a[i + 1];
    if (v === undefined || v.startsWith("--")) throw new DeployError(`${name} needs a value`);
    a.splice(i, 2);
    return v;
  };
  const flag = (name: string): boolean => { const i = a.indexOf(name); if (i < 0) return false; a.splice(i, 1); return true; };
  const int = (name: string, v: string | undefined, lo: number, hi: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new DeployError(`${name} must be a whole number from ${lo} to ${hi}, got "${v}"`);
    return n;
  };
  const dryRun = flag("--dry-run"), outdated = flag("--outdated");
  const port = take("--port"), image = take("--image"), metersArg = take("--meters");
  const imageId = int("--image-id", take("--image-id"), 1, 65535);
  const blockSize = int("--block-size", take("--block-size"), 4, 212);
  const group = int("--group", take("--group"), 1, 0xfffffffe);
  const activateAt = int("--activate-at", take("--activate-at"), 0, 0xffffffff);
  const everyS = int("--every", take("--every"), 1, 3600) ?? 10;
  const cliArg = take("--cli");
  const tags = take("--tags");
  const method = take("--method") ?? "coded";
  if (method !== "coded" && method !== "patent") throw new DeployError(`--method must be coded or patent, got "${method}"`);
  const lossPct = int("--loss", take("--loss"), 0, 50);
  if (a.length) throw new DeployError(`unknown argument "${a[0]}"`);
  if (!port) throw new DeployError("--port is required: the concentrator's serial device or tcp://host:port");
  if (!image) throw new DeployError("--image is required: an image file made by npm run pack");
  if (imageId === undefined) throw new DeployError("--image-id is required (1 to 65535, new for each campaign)");
  if ([metersArg !== undefined, outdated, group !== undefined].filter(Boolean).length > 1) throw new DeployError("choose one of --meters, --outdated and --group");
  if (blockSize !== undefined && blockSize % 4) throw new DeployError(`--block-size must be a multiple of 4, got ${blockSize}`);
  let meters: number[] | "outdated" | undefined = outdated ? "outdated" : undefined;
  if (metersArg !== undefined) {
    meters = metersArg.split(",").map((x) => int("--meters", x.trim(), 1, 0xfffffffe)!);
  }
  if (!existsSync(image)) throw new DeployError(`--image ${image}: no such file`);
  if (tags !== undefined && !existsSync(tags)) throw new DeployError(`--tags ${tags}: no such file`);
  const bytes = new Uint8Array(readFileSync(image));
  const file = isImageFile(bytes) ? decodeImageFile(bytes, hostNative) : null;
  if (typeof file === "number") throw new DeployError(`--image ${image}: a damaged image file header`);
  if (file && blockSize !== undefined && blockSize !== file.blockSize) throw new DeployError(`--block-size: the image file says ${file.blockSize}`);
  const head = file ? null : decodeAppHeader(bytes, Number.MAX_SAFE_INTEGER);
  if (!file && !head) throw new DeployError(`--image ${image}: not an update image (no program header; make one with npm run image or npm run pack)`);
  return { port, image, imageId, version: file ? file.version : head!.version, blockSize: file ? undefined : blockSize, meters, group, activateAt, everyS, dryRun, cli: cliArg ? cliArg.split(" ").filter(Boolean) : DEFAULT_CLI, tags, imageFile: !!file, method, lossPct };
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

export function commands(d: DeployArgs): { upload: string[]; start: string[]; progress: string[] } {
  const base = [...d.cli, "-p", d.port];
  const upload = [...base, "--storage", `img.bin:${d.image}`];
  if (d.tags !== undefined) upload.push("--storage", `img.tags:${d.tags}`);
  return { upload, start: [...base, "-e", updateCall(d)], progress: [...base, "-e", "meterline.progress()"] };
}

const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

function run(cmd: string[]): string[] {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8" });
  if (r.error) throw new DeployError(`cannot run ${cmd[0]}: ${r.error.message}`);
  if (r.status !== 0) throw new DeployError(`${cmd[0]} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split("\n").pop()}`);
  return r.stdout.split("\n").filter((l) => l.startsWith("meterline:"));
}

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

export async function deploy(d: DeployArgs, print: (l: string) => void): Promise<number> {
  const c = commands(d);
  if (d.dryRun) {
    for (const k of ["upload", "start", "progress"] as const) print(`${k}: ${c[k].map(quote).join(" ")}`);
    print(`(progress repeats every ${d.everyS} s until the campaign is done or aborted)`);
    return 0;
  }
  print(`deploy: uploading ${d.image} to ${d.port} as img.bin`);
  run(c.upload);
  const started = run(c.start);
  for (const l of started) print(l);
  if (!started.some((l) => /^meterline: campaign \d+ started/.test(l))) throw new DeployError(`the campaign did not start: ${started[started.length - 1] ?? "no answer from the concentrator"}`);
  let last = "";
  for (;;) {
    await sleep(d.everyS);
    const lines = run(c.progress);
    const l = lines[lines.length - 1] ?? "";
    if (l && l !== last) { print(l); last = l; }
    if (/no campaign/.test(l)) throw new DeployError("the concentrator has no campaign any more (did it restart? meterline.resume(\"img.bin\") continues it)");
    const p = progressOf(l);
    if (p && p.phase === "done") return p.updated === p.meters ? 0 : 1;
    if (p && p.phase === "aborted") return 1;
  }
}

/** The phase and meter counts in a meterline.progress() line, or null. */
export function progressOf(line: string): { phase: string; updated: number; meters: number; failed: number } | null {
  const m = /^meterline: campaign ([a-z-]+),.*?(\d+) of (\d+) meters updated, (\d+) failed/.exec(line);
  return m ? { phase: m[1], updated: +m[2], meters: +m[3], failed: +m[4] } : null;
}

async function main(argv: string[]): Promise<number> {
  let d: DeployArgs;
  try { d = parseArgs(argv); } catch (e) { if (e instanceof DeployError) { console.error(`deploy: ${e.message}`); return 2; } throw e; }
  try { return await deploy(d, (l) => console.log(l)); } catch (e) { if (e instanceof DeployError) { console.error(`deploy: ${e.message}`); return 1; } throw e; }
}

if (process.argv[1] && process.argv[1].endsWith("deploy.ts")) main(process.argv.slice(2)).then((c) => { process.exitCode = c; });
