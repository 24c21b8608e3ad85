/*
 * Commands to the head-end over MQTT (docs/headend.md, Commands): their topics, the checks of
 * a command's JSON before anything is sent to a concentrator, the campaign files the head-end
 * holds, and the campaign's progress as the concentrator's console reports it. Core.ts runs
 * them; this file only reads and checks, so a bad command is refused here having changed
 * nothing.
 *
 *   meterline/<concentrator>/cmd/<name>   a command: read, identify, update, pause, resume, abort (JSON)
 *   meterline/<concentrator>/reply        each command's answer when it was done
 *   meterline/<concentrator>/error        each command's refusal: {"error": NAME, "message": ...}
 *   meterline/<concentrator>/campaign     the campaign's progress (retained)
 *   meterline/<concentrator>/identify     the end of a round of IDENTITY: {collected, missed, at}
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { decodeAppHeader } from "../../firmware/common/image";
import { Ms } from "../../firmware/concentrator/campaign";
import { decodeImageFile, isImageFile } from "../../firmware/common/image-file";
import { hostNative } from "../../hal/host/native";
import { errName, lookupErr } from "../errors/table";
import { isTagsFile, TAGS_RECORD } from "../keys/keyfile";
import { Id } from "../../firmware/protocol/catalogue";

/** Every topic of the head-end starts with it. */
export const TOPIC_ROOT = "meterline";

export const COMMANDS = ["read", "identify", "update", "pause", "resume", "abort"] as const;
export type CommandName = (typeof COMMANDS)[number];

/** What the head-end subscribes to: every concentrator's commands (deeper topics are refused as unknown commands). */
export const COMMAND_FILTER = `${TOPIC_ROOT}/+/cmd/#`;

export const replyTopic = (concentrator: string) => `${TOPIC_ROOT}/${concentrator}/reply`;
export const errorTopic = (concentrator: string) => `${TOPIC_ROOT}/${concentrator}/error`;
export const campaignTopic = (concentrator: string) => `${TOPIC_ROOT}/${concentrator}/campaign`;
/** The end of a round of IDENTITY the identify command started: {collected, missed, at}. */
export const identifyTopic = (concentrator: string) => `${TOPIC_ROOT}/${concentrator}/identify`;

/**
 * The head-end's own refusals, by name, with what each means. A concentrator's refusal is
 * answered with its device code's name instead (tools/errors: UNKNOWN_METER, UPDATE_NO_SESSION, ...).
 */
export const COMMAND_ERRORS = {
  BAD_JSON: "the payload is not a JSON object (an empty payload is {})",
  UNKNOWN_COMMAND: "no such command (read, identify, update, pause, resume, abort)",
  UNKNOWN_CONCENTRATOR: "no concentrator with that id is attached to this head-end",
  BAD_ARGUMENT: "a field is missing, unknown or out of range",
  NO_SUCH_FILE: "the image or tags file is not in the head-end's files folder (--files)",
  NOT_AN_IMAGE: "the image file is neither an image file (npm run image) nor a bare image (npm run pack)",
  NOT_A_TAGS_FILE: "the tags file is not the head-end's authorisations (npm run keys -- authorise)",
  CAMPAIGN_RUNNING: "the concentrator runs a campaign already (pause, resume or abort it; start one when it has ended)",
  RETAINED_COMMAND: "a command published retained is not run (it would run again whenever the head-end subscribes)",
  CONSOLE: "the concentrator's console did not answer (it is offline, or the link dropped)",
  CONCENTRATOR_THREW: "the concentrator's console threw or gave no code (a program without this console function?)",
  UPLOAD_FAILED: "the file could not be written into the concentrator's Storage",
} as const;
export type CommandErrorName = keyof typeof COMMAND_ERRORS;

/** A refusal: `error` is a name of COMMAND_ERRORS or a device code's name (then `code` is its number). */
export class CommandError extends Error {
  constructor(readonly error: string, message: string, readonly code?: number) {
    super(message);
  }
}

const refuse = (error: CommandErrorName, message: string) => new CommandError(error, message);

/** A device's refusal line ("meterline: meter 99 is not in the registry (E128)") as a CommandError named by its code. */
export function deviceError(code: number, line: string): CommandError {
  const e = lookupErr(code);
  return new CommandError(e ? e.name : `E${code}`, line ? line : errName(code), code);
}

/** read: a round of readings; identify: a round of IDENTITY (kind, board, version, group, whether the boot routine unpacks packed images). */
export interface ReadCommand { name: "read" | "identify"; meter?: number }
export interface UpdateCommand {
  name: "update";
  /** File names in the head-end's files folder. */
  image: string;
  tags?: string;
  imageId: number;
  method?: "coded" | "patent";
  loss?: number;
  meters?: number[] | "outdated";
  group?: number;
  activateAt?: number;
}
export interface CampaignCommand { name: "pause" | "resume" | "abort" }
export type Command = (ReadCommand | UpdateCommand | CampaignCommand) & { id?: string | number };

/** meterline/<concentrator>/cmd/<name>: the concentrator and the name (a deeper topic gives a name with "/"), or null. */
export function commandTopic(topic: string): { concentrator: string; name: string } | null {
  const m = /^([^/]+)\/([^/]+)\/cmd\/(.+)$/.exec(topic);
  return m && m[1] === TOPIC_ROOT ? { concentrator: m[2], name: m[3] } : null;
}

/** The correlation id a payload carries, if it can be read (for the answer to a command refused later). */
export function correlationOf(payload: string): string | number | undefined {
  try {
    const o = JSON.parse(payload) as { id?: unknown };
    return typeof o?.id === "string" || typeof o?.id === "number" ? o.id : undefined;
  } catch { return undefined; }
}

const isInt = (v: unknown, lo: number, hi: number): v is number => typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;

const FIELDS: Record<CommandName, string[]> = {
  read: ["meter"],
  identify: ["meter"],
  update: ["image", "tags", "imageId", "method", "loss", "meters", "group", "activateAt"],
  pause: [], resume: [], abort: [],
};

/** A plain file name in the files folder: no folders, so a command cannot name any other file of the head-end's disk. */
function fileName(field: string, v: unknown): string {
  if (typeof v !== "string" || !/^[^/\\\0]+$/.test(v) || v === "." || v === "..") throw refuse("BAD_ARGUMENT", `${field} must be a file name in the head-end's files folder (no folders), got ${JSON.stringify(v)}`);
  return v;
}

/** Checks a command's name and JSON payload: the command, or a CommandError naming what is wrong. */
export function parseCommand(name: string, payload: string): Command {
  if (!(COMMANDS as readonly string[]).includes(name)) throw refuse("UNKNOWN_COMMAND", `unknown command "${name}" (the commands: ${COMMANDS.join(", ")})`);
  const n = name as CommandName;
  let o: Record<string, unknown>;
  if (payload.trim() === "") o = {};
  else {
    try { o = JSON.parse(payload) as Record<string, unknown>; } catch (e) { throw refuse("BAD_JSON", `${n}: the payload is not JSON (${(e as Error).message.split("\n")[0]})`); }
    if (o === null || typeof o !== "object" || Array.isArray(o)) throw refuse("BAD_JSON", `${n}: the payload must be a JSON object, got ${payload.trim().slice(0, 40)}`);
  }
  for (const k of Object.keys(o)) {
    if (k !== "id" && !FIELDS[n].includes(k)) throw refuse("BAD_ARGUMENT", `${n}: unknown field "${k}" (${FIELDS[n].length ? `its fields: ${FIELDS[n].join(", ")}, id` : "it takes only id"})`);
  }
  const id = o.id;
  if (id !== undefined && typeof id !== "string" && typeof id !== "number") throw refuse("BAD_ARGUMENT", `${n}: id must be a string or a number`);
  const base = id === undefined ? {} : { id: id as string | number };
  if (n === "read" || n === "identify") {
    if (o.meter !== undefined && !isInt(o.meter, 1, Id.MAX_METER)) throw refuse("BAD_ARGUMENT", `${n}: meter must be a meter id from 1 to ${Id.MAX_METER}, got ${JSON.stringify(o.meter)}`);
    return { ...base, name: n, ...(o.meter !== undefined ? { meter: o.meter as number } : {}) };
  }
  if (n !== "update") return { ...base, name: n };
  if (o.image === undefined) throw refuse("BAD_ARGUMENT", "update: image is required (an image file in the head-end's files folder)");
  const c: UpdateCommand = { name: "update", image: fileName("image", o.image), imageId: 0 };
  if (!isInt(o.imageId, 1, 65535)) throw refuse("BAD_ARGUMENT", `update: imageId must be a whole number from 1 to 65535, new for each campaign, got ${JSON.stringify(o.imageId)}`);
  c.imageId = o.imageId;
  if (o.tags !== undefined) c.tags = fileName("tags", o.tags);
  if (o.method !== undefined) {
    if (o.method !== "coded" && o.method !== "patent") throw refuse("BAD_ARGUMENT", `update: method must be "coded" or "patent", got ${JSON.stringify(o.method)}`);
    c.method = o.method;
  }
  if (o.loss !== undefined) {
    if (typeof o.loss !== "number" || !(o.loss >= 0 && o.loss <= 0.5)) throw refuse("BAD_ARGUMENT", `update: loss must be the frame loss to plan for, 0 to 0.5, got ${JSON.stringify(o.loss)}`);
    c.loss = o.loss;
  }
  if (o.meters !== undefined && o.group !== undefined) throw refuse("BAD_ARGUMENT", "update: give meters or group, not both");
  if (o.meters !== undefined) {
    if (o.meters === "outdated") c.meters = "outdated";
    else if (Array.isArray(o.meters) && o.meters.length && o.meters.every((m) => isInt(m, 1, Id.MAX_METER)) && new Set(o.meters).size === o.meters.length) c.meters = o.meters as number[];
    else throw refuse("BAD_ARGUMENT", `update: meters must be "outdated" or a list of different meter ids, got ${JSON.stringify(o.meters)}`);
  }
  if (o.group !== undefined) {
    if (!isInt(o.group, 1, 0xfffffffe)) throw refuse("BAD_ARGUMENT", `update: group must be a group id from 1 to 4294967294, got ${JSON.stringify(o.group)}`);
    c.group = o.group;
  }
  if (o.activateAt !== undefined) {
    if (!isInt(o.activateAt, 0, 0xffffffff)) throw refuse("BAD_ARGUMENT", `update: activateAt must be Unix seconds (0: at once), got ${JSON.stringify(o.activateAt)}`);
    c.activateAt = o.activateAt;
  }
  return { ...base, ...c };
}

/** What an update uploads: the image (with its version when it is a bare image) and the tags. */
export interface CampaignFiles { image: Uint8Array; imageFile: boolean; version: number; tags?: Uint8Array }

/** Storage names on the concentrator, as deploy uses them (so meterline.resume("img.bin"), with "img.tags" for keyed meters, continues an interrupted campaign). */
export const IMAGE_NAME = "img.bin";
export const TAGS_NAME = "img.tags";

function readHeld(dir: string, field: string, name: string): Uint8Array {
  const path = join(dir, name);
  if (!existsSync(path) || !statSync(path).isFile()) throw refuse("NO_SUCH_FILE", `${field} "${name}": no such file in ${dir}`);
  return new Uint8Array(readFileSync(path));
}

/** Reads and checks an update's files from the head-end's files folder `dir`. */
export function campaignFiles(dir: string, c: UpdateCommand): CampaignFiles {
  const image = readHeld(dir, "image", c.image);
  const file = isImageFile(image) ? decodeImageFile(image, hostNative) : null;
  if (typeof file === "number") throw refuse("NOT_AN_IMAGE", `image "${c.image}": a damaged image file header (${errName(file)})`);
  const head = file ? null : decodeAppHeader(image, Number.MAX_SAFE_INTEGER);
  if (!file && !head) throw refuse("NOT_AN_IMAGE", `image "${c.image}": not an update image (no program header; make one with npm run image or npm run pack)`);
  const out: CampaignFiles = { image, imageFile: !!file, version: file ? file.version : head!.version };
  if (c.tags !== undefined) {
    const tags = readHeld(dir, "tags", c.tags);
    // as keys authorise writes it (tools/keys/keyfile.ts tagsFile): the concentrator checks it again against its campaign's digest
    if (!isTagsFile(tags)) throw refuse("NOT_A_TAGS_FILE", `tags "${c.tags}": not a tags file (${TAGS_RECORD}-byte records, the first with id 0; npm run keys -- authorise)`);
    out.tags = tags;
  }
  return out;
}

/** The console call that starts the campaign on the uploaded files. */
export function updateCall(c: UpdateCommand, f: CampaignFiles): string {
  const o: Record<string, unknown> = { imageId: c.imageId };
  if (!f.imageFile) o.version = f.version;
  if (c.meters !== undefined) o.meters = c.meters;
  if (c.group !== undefined) o.group = c.group;
  if (c.activateAt !== undefined) o.activateAt = c.activateAt;
  if (f.tags) o.tags = TAGS_NAME;
  if (c.method !== undefined) o.method = c.method;
  if (c.loss !== undefined) o.loss = c.loss;
  return `meterline.update(${JSON.stringify(IMAGE_NAME)},${JSON.stringify(o)})`;
}

/** A meterline.progress() line, read. */
export interface Progress {
  phase: string; round: number; blocks: number; polls: number; frames: number; bytes: number;
  airtimeS: number; complete: number; meters: number; failed: number; code: number;
}

const PROGRESS = /^meterline: campaign ([a-z-]+), round (\d+), (\d+) blocks, (\d+) polls, (\d+) frames, (\d+) bytes(?:, about (\d+) s on air)?, (\d+) of (\d+) meters updated, (\d+) failed(?:, E(\d+))?$/;

/** The progress line's figures; null for "no campaign" or a line not understood. */
export function parseProgress(line: string): Progress | null {
  const m = PROGRESS.exec(line.trim());
  if (!m) return null;
  return { phase: m[1], round: +m[2], blocks: +m[3], polls: +m[4], frames: +m[5], bytes: +m[6], airtimeS: m[7] ? +m[7] : 0, complete: +m[8], meters: +m[9], failed: +m[10], code: m[11] ? +m[11] : 0 };
}

/** Phases in which a campaign holds the concentrator (and its image file): every one but done and aborted. */
export function running(phase: string): boolean {
  return phase !== "done" && phase !== "aborted";
}

/** A failed meter as published: its id, its device code and that code's name. */
export interface FailedMeter { meter: number; code: number; error: string }

/** The campaign's progress as published on meterline/<concentrator>/campaign. */
export interface CampaignReport extends Progress {
  /** The campaign's image id when this head-end started it; null for one found running. */
  imageId: number | null;
  running: boolean;
  failedMeters: FailedMeter[];
  /** The campaign's own code's name (aborted with it), or null. */
  error: string | null;
}

/**
 * The answer of the per-meter query (meterStatesCall): "ids|state:code state:code ...", the ids
 * those of the campaign's checkpoint (empty once it ended). Meters failed or reverted, by id
 * (`known`: the ids learnt earlier in the same campaign when the checkpoint no longer says them).
 */
export function failedMeters(answer: string, known: number[] | null): { ids: number[] | null; failed: FailedMeter[] } {
  const [idText, stText = ""] = answer.split("|");
  const ids = idText.trim() ? idText.trim().split(" ").map(Number) : known;
  const failed: FailedMeter[] = [];
  stText.trim().split(" ").filter(Boolean).forEach((x, i) => {
    const [st, code] = x.split(":").map(Number);
    if (st === Ms.FAILED || st === Ms.REVERTED) failed.push({ meter: ids?.[i] ?? 0, code, error: lookupErr(code)?.name ?? `E${code}` });
  });
  return { ids, failed };
}

/**
 * The console expression for each campaign meter's state and code, with the ids from the
 * campaign's checkpoint: the progress line only counts them. It reads meterline.ctx (the
 * board's entry and the bench set it); "" without one.
 */
export const METER_STATES_CALL = '(function(x){var c=x&&x.campaign();if(!c)return "";var u=x.unfinished(),s=[];for(var i=0;i<c.meterCount();i++)s.push(c.state(i)+":"+c.codeOf(i));return (u?u.meters.join(" "):"")+"|"+s.join(" ")})(meterline.ctx)';
