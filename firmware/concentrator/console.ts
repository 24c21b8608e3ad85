/*
 * Console functions of the concentrator, for the Espruino prompt (and `espruino -e`):
 *   meterline.meters()                      list the registry
 *   meterline.update(file, options)         start a campaign with an image from Storage (method "coded" or "patent")
 *   meterline.progress()                    one line on the running campaign
 *   meterline.pause() / abort()
 *   meterline.discover(slots, slotMs)       look for meters
 *   meterline.read([id])                    a round of readings now (every meter, or one)
 *   meterline.profile([id])                 a round of load-profile intervals since the last collected
 *   meterline.events([id])                  a round of event-log records since the last collected
 *   meterline.billing([id])                 a round of billing registers (rates, maximum demand) of electricity meters
 *   meterline.tariff(id, weekdays[, weekend])  a meter's tariff schedule: "00:00=1 07:00=2 22:00=1" (local time)
 *   meterline.zone(id, offsetMin, "EU"|"none")  a meter's time zone and daylight-saving rule
 *   meterline.billingDay(id, day)           the day of the month its billing period ends (0 none)
 *   meterline.endBilling(id)                end its billing period now
 *   meterline.join(id, group)               put a meter in a group (campaigns can select by group)
 *   meterline.remove(id)                    take a meter out: never read, updated or found again; its readings stay
 *   meterline.replace(oldId, newId)         a new meter takes an old one's place (its group); their readings stay apart
 *   meterline.home(id[, concentrator])      the concentrator a meter hears (this one by default; another: handed over
 *                                           and removed here; 0 none): it ignores every other but for discovery
 *   meterline.rotate(["rot.up"[, {drop: true}]])  rotate keyed meters' keys with the head-end's rotation file
 *                                           (npm run keys -- rotate), or go on with the active one
 *   meterline.identify([id])                learn kind, board, version and group of the meters
 *   meterline.time(unix)                    set the clock here and in every meter
 *   meterline.resume(["img.bin"[, "img.tags"]])  continue a paused campaign, or with the image (and tags), one a restart interrupted
 *   meterline.export("csv" | "json")        every reading kept
 *   meterline.export("json", from[, max])   readings from store position `from` on (at most max, 100 by
 *                                           default), each line with its "pos"; returns the position to ask from next
 *   meterline.ack(pos)                      the head-end keeps every reading before `pos`: acknowledged
 *                                           files may be freed (docs/concentrator.md, Readings store)
 * Each prints one line (or one per meter) and returns 0 or an error code; a bad argument
 * prints what is wrong and changes nothing. Console text is built here only, never on the
 * radio path.
 */
import type { Native } from "../../hal/types";
import { Err } from "../common/errors";
import { getU32, putU16, U8, sub, math } from "../common/bytes";
import { PACKED_MAGIC } from "../common/image";
import { digestChain, digestMatches, MAX_BLOCK, Session } from "../common/update-image";
import { answerTimeMs, Ms, PHASE_NAMES, REBOOT_WAIT_MS, type CampaignConfig } from "./campaign";
import { Id, Key, P, Rd, Tf } from "../protocol/catalogue";
import { Dst } from "../common/calendar";
import { decodeImageFile, IMAGE_FILE_HEADER, isImageFile, type ImageFileHeader } from "../common/image-file";
import { bytesAt, findById, TAGS_RECORD } from "./keystore";
import type { ConcentratorContext } from "./concentrator";
import { Rf } from "./registry";

/** update() and a round of readings or identity refused: one of them runs already. */
var BUSY = "busy: a campaign or a round is running";

export interface UpdateOptions {
  imageId: number;
  /** Required for a bare image; an image file (npm run image) brings it. */
  version?: number;
  board?: number;
  blockSize?: number;
  /**
   * Meter ids; or "outdated" for every registry meter on the image's board (or whose board
   * is not known yet: run identify() first) whose known version is below the image's;
   * omitted: every meter.
   */
  meters?: number[] | string;
  /** Instead of `meters`: the registry meters the concentrator put in this group. */
  group?: number;
  maxRounds?: number;
  deadlineS?: number;
  /** Unix seconds at which the meters activate the image (their clocks must be set); 0: at once. */
  activateAt?: number;
  /** Storage file with the head-end's authorisation tags, relayed to keyed meters. */
  tags?: string;
  /** "coded" (the default: docs/update.md, coded campaign) or "patent" (per-meter polls, union repair). */
  method?: string;
  /** Coded method: the frame loss to plan for, 0 to 0.5 (default 0.1). */
  loss?: number;
  /** Only ask the meters whether they would take the image (the control's start = 0); nothing is downloaded. */
  checkOnly?: boolean;
}


/**
 * The TARIFF value (Tf) of a schedule in the console's words: each day type "HH:MM=rate ..."
 * (`weekend` defaults to `weekdays`; "" none: rate 1), up to 4 switches from 00:00 on, on
 * quarter hours, in order, rates 1 to 4, as the meter checks them; null for anything else.
 * The one parser of that form (the console, and the bench's scenario files).
 */
export function scheduleBytes(weekdays: string, weekend?: string): Uint8Array | null {
  var v = new U8(Tf.SCHEDULE);
  for (var d = 0; d < 2; d++) {
    var sw = ("" + (d && weekend !== undefined ? weekend : weekdays)).split(" ").filter(function (x) { return x !== ""; });
    if (sw.length > Tf.SWITCHES) return null;
    for (var k = 0; k < Tf.SWITCHES; k++) {
      var m = k < sw.length ? /^(\d\d):(\d\d)=([1-4])$/.exec(sw[k]) : null, q = m ? +m[1] * 4 + +m[2] / 15 : Tf.NO_SWITCH;
      // (the first at 00:00, the others later in order: as the meter checks)
      if (k < sw.length && (!m || q % 1 || q >= Tf.QUARTERS || (k ? q <= v[d * Tf.WEEKEND + 2 * k - 2] : q))) return null;
      v[d * Tf.WEEKEND + 2 * k] = q;
      v[d * Tf.WEEKEND + 2 * k + 1] = m ? +m[3] : Tf.NO_SWITCH;
    }
  }
  return v;
}

function isInt(v: any, lo: number, hi: number): boolean {
  return typeof v === "number" && v % 1 === 0 && v >= lo && v <= hi;
}


/** The line (bit rate, PHY bytes a frame) and the concentrator's modem link (baud), for airtime figures and answer times. */
export interface LineFacts { bitRate: number; frameOverhead: number; hostBaud: number }

/**
 * Block i of an image held as a Storage string from `off` on, in blocks of `bs` (the last
 * one shorter): the native's stringToBytes on the string's part when it has one (the
 * interpreter's E.toUint8Array), else a character at a time.
 */
export function blocksOf(native: Native, text: string, off: number, bs: number): (i: number) => Uint8Array {
  var conv = native.stringToBytes;
  return function (i) {
    var o = off + i * bs, n = math.min(bs, text.length - o);
    return conv ? conv(text.substr(o, n)) : bytesAt(text, o, n);
  };
}

export function consoleApi(c: ConcentratorContext, native: Native, board: number, readFile: (name: string) => string | undefined, print: (line: string) => void, line?: LineFacts): any {

  /** The update digest of the session's blocks into s.digest (the CRC-32 chain in its first 4 bytes when `crcOnly`). */
  function digestInto(dn: Native, s: Session, block: (i: number) => Uint8Array, crcOnly: boolean): void {
    var chain = digestChain(dn, s);
    for (var b = 0; b < s.blockCount; b++) chain.step(block(b));
    for (var z = 0; z < 32; z++) s.digest[z] = 0;
    s.digest.set(crcOnly ? sub(chain.result(), 0, 4) : chain.result());
  }

  /**
   * The head-end's tags from a Storage file (npm run keys -- authorise) into `cfg`: records of
   * 40 bytes, id u32 | kind u8 | 3 zero bytes | tag 16 | wrapped block key 16, sorted by id;
   * the first, id 0, carries the first 16 bytes of the campaign's digest and its block key.
   * 0, or BAD_ARG for a file that is not one, or not this campaign's.
   */
  function tagsInto(cfg: CampaignConfig, text: string): number {
    function rec(id: number) { return findById(function (o, n) { return text.substr(o, n); }, text.length, TAGS_RECORD, id); }
    var head = text.length % TAGS_RECORD ? null : rec(0);
    for (var z = 0; head && z < 16; z++) if (head.charCodeAt(8 + z) !== cfg.session.digest[z]) head = null;
    if (!head) return fail(Err.BAD_ARG, "not a tags file of this campaign (npm run keys -- authorise)");
    cfg.blockKey = bytesAt(head, 24, 16);
    cfg.authorise = function (id) {
      var r = id ? rec(id) : null;
      if (!r) return null;
      var t = bytesAt(r, 7, 33);
      t[0] = r.charCodeAt(4);
      return t;
    };
    return 0;
  }

  /** A campaign's configuration: the console's limits, and the line for the airtime estimate. */
  function campaignConfig(s: Session, block: (i: number) => Uint8Array, meters: number[], o: { deadlineS?: number; maxRounds?: number; activateAt?: number }): CampaignConfig {
    return {
      session: s, block: block, meters: meters, deadlineMs: (o.deadlineS || 0) * 1000, maxRounds: o.maxRounds || 30,
      noProgressRounds: 5, maxNoAnswer: 4, silentMs: 600000, answerMs: line ? answerTimeMs(line.bitRate, line.frameOverhead, line.hostBaud, P.MAX_FRAME, P.MAX_FRAME) : 3000, hostBaud: line ? line.hostBaud : 0, rebootMs: REBOOT_WAIT_MS, activateAt: o.activateAt || 0,
      lineBitRate: line ? line.bitRate : 0, frameOverhead: line ? line.frameOverhead : 0,
    };
  }

  /**
   * The campaign's end line: every meter done, or how many were and each other meter with its
   * code ("2001 E94 2002 E144"). A meter it activated runs the image's version from now on:
   * the registry says so (an "outdated" selection then leaves it out).
   */
  function ended(s: Session, ids: number[]): (code: number) => void {
    return function (code) {
      if (code) { say("campaign " + s.imageId + " ended (E" + code + ")"); return; }
      var camp = c.campaign(), r = c.registry, done = 0, bad = "", k: number;
      for (var i = 0; camp && i < ids.length; i++) {
        if (camp.state(i) !== Ms.ACTIVATED) { bad += " " + ids[i] + " E" + camp.codeOf(i); continue; }
        done++;
        if ((k = r.find(ids[i])) >= 0) r.setInfo(k, r.kind(k), s.version);
      }
      say("campaign " + s.imageId + " ended: " + (bad ? done + " of " + ids.length + " meters updated; failed:" + bad : "every meter done"));
    };
  }

  function collectNow(id: number | undefined, what: number, name: string): number {
    if (id !== undefined && !isInt(id, 1, Id.MAX_METER)) return fail(Err.BAD_ARG, name + "([meter id])");
    var e = c.collect(function (got, missed) { say((what === Rd.REGISTERS ? "readings" : name) + " round: " + got + " collected, " + missed + " meters did not answer"); }, id, what);
    return e ? refused(e, id) : 0;
  }

  /** A request to meter `id` the concentrator would not start (collect's and configure's codes), said. */
  function refused(e: number, id?: number): number {
    return fail(e, e === Err.UNKNOWN_METER ? "meter " + id + " is not in the registry" : e === Err.LINK_NOT_READY ? "the modem is not ready" : BUSY);
  }

  /** Sets a meter's configuration key and says how it went (`what`: the command's words). */
  function configure(id: number, key: number, value: Uint8Array, what: string, usage: string): number {
    if (!isInt(id, 1, Id.MAX_METER)) return fail(Err.BAD_ARG, usage);
    var e = c.configure(id, key, value, function (code) { say("meter " + id + (code ? ": " + what + " refused (E" + code + ")" : ": " + what)); });
    return e ? refused(e, id) : 0;
  }

  /** One line for the operator, after the prefix every console line has. */
  function say(line: string): void {
    print("meterline: " + line);
  }

  function fail(code: number, why: string): number {
    say(why + " (E" + code + ")");
    return code;
  }

  /**
   * update()'s image: an image file (npm run image) brings its own board, version, block size
   * and digest, which the options may repeat but not contradict; a bare program takes them
   * from the options (block size 200, this concentrator's board by default). Its session (the
   * digest not yet made) and the file's header, or the error code once printed.
   */
  function imageFacts(file: string, img: string, o: UpdateOptions): [Session, ImageFileHeader | null] | number {
    var head = isImageFile(bytesAt(img, 0, 4)) ? decodeImageFile(bytesAt(img, 0, IMAGE_FILE_HEADER), native) : null;
    if (typeof head === "number") return fail(head, "\"" + file + "\" has a damaged image header");
    var off = head ? IMAGE_FILE_HEADER : 0;
    if (head && (img.length - off !== head.size || (o.version !== undefined && o.version !== head.version) || (o.blockSize !== undefined && o.blockSize !== head.blockSize) || (o.board !== undefined && o.board !== head.board))) {
      return fail(Err.BAD_ARG, "\"" + file + "\" is v" + head.version + " for board " + head.board + " in " + head.blockSize + "-byte blocks of " + head.size + " bytes: the options or the file disagree");
    }
    var ver = head ? head.version : o.version as number;
    if (!isInt(ver, 0, 0xffffffff)) return fail(Err.BAD_ARG, "version must be a whole number from 0 to 4294967295");
    var bs = head ? head.blockSize : o.blockSize === undefined ? 200 : o.blockSize;
    if (!isInt(bs, 4, MAX_BLOCK) || bs % 4) return fail(Err.UPDATE_BAD_BLOCK_SIZE, "blockSize must be a multiple of 4 from 4 to " + MAX_BLOCK);
    var brd = head ? head.board : o.board === undefined ? board : o.board;
    if (!isInt(brd, 1, 0xffff)) return fail(Err.BAD_ARG, "board must be a board code from 1 to 65535");
    var s: Session = {
      imageId: o.imageId, version: ver, board: brd, size: img.length - off, blockSize: bs,
      blockCount: math.ceil((img.length - off) / bs), activateAt: 0, digest: new U8(32),
    };
    return s.blockCount > P.MAX_BLOCKS ? fail(Err.UPDATE_TOO_LARGE, "image too large for " + bs + "-byte blocks") : [s, head];
  }

  /**
   * update()'s meters: those of `group`, the ids in `meters`, "outdated" ones (an installed
   * version below `ver`, on board `brd` or one not yet known), or every registered meter.
   * The ids, or the error code once printed.
   */
  function selectMeters(o: UpdateOptions, ver: number, brd: number): number[] | number {
    var r = c.registry, ids: number[] = [], m = o.meters, i: number;
    if (o.group !== undefined && !isInt(o.group, 1, 0xfffffffe)) return fail(Err.BAD_ARG, "group must be a group id from 1 to 4294967294");
    if (o.group !== undefined || m === undefined || m === "outdated") {
      for (i = 0; i < r.count(); i++) {
        var b = r.board(i);
        if (r.flags(i) & Rf.REMOVED) continue;
        if (o.group !== undefined ? r.group(i) === o.group : m === undefined || r.version(i) < ver && (!b || b === brd)) ids.push(r.id(i));
      }
    } else if (!Array.isArray(m)) return fail(Err.BAD_ARG, "meters must be a list of meter ids or \"outdated\"");
    else for (i = 0; i < m.length; i++) {
      if (r.find(m[i]) < 0 || r.flags(r.find(m[i])) & Rf.REMOVED) return fail(Err.UNKNOWN_METER, "meter " + m[i] + " is not in the registry");
      ids.push(m[i]);
    }
    return ids.length ? ids : fail(Err.BAD_ARG, "no meters to update");
  }

  /** update()'s options beside the image and the meters: the activation time, the method, the loss; the error code once printed, or 0. */
  function badCampaignOptions(o: UpdateOptions): number {
    if (o.activateAt !== undefined && !isInt(o.activateAt, 0, 0xffffffff)) return fail(Err.BAD_ARG, "activateAt must be Unix seconds (0: at once)");
    if (o.activateAt && !c.now()) return fail(Err.CLOCK_NOT_SET, "set the clock with time(unix) before scheduling an activation");
    if (o.method !== undefined && o.method !== "coded" && o.method !== "patent") return fail(Err.BAD_ARG, "method must be \"coded\" (the default) or \"patent\"");
    if (o.loss !== undefined && !(typeof o.loss === "number" && o.loss >= 0 && o.loss <= 0.5)) return fail(Err.BAD_ARG, "loss must be the frame loss expected, 0 to 0.5");
    return 0;
  }

  /**
   * The session's digest into `s.digest`, after checking an image file's own: the file's is
   * made with no campaign (imageId 0), the session's binds this campaign's id; an image file
   * for a board without SHA-256 carries the CRC-32 chain (4 bytes). The error code once
   * printed, or 0.
   */
  function sessionDigest(file: string, s: Session, head: ImageFileHeader | null, block: (i: number) => Uint8Array, imageId: number): number {
    var crcOnly = !native.sha256, z: number;
    if (head) { crcOnly = true; for (z = 4; z < 32; z++) if (head.digest[z]) crcOnly = false; }
    var dn = crcOnly ? { crc32: native.crc32, bytesToString: native.bytesToString, sha256: null } : native;
    if (head) {
      s.imageId = 0;
      digestInto(dn, s, block, crcOnly);
      s.imageId = imageId;
      for (z = 0; z < 32; z++) if (head.digest[z] !== s.digest[z]) return fail(Err.UPDATE_DIGEST, "\"" + file + "\" does not match its header's digest");
    }
    digestInto(dn, s, block, crcOnly);
    return 0;
  }

  /** The campaign update() starts: its method, loss, group, and for a packed image the meters known not to take one. */
  function updateConfig(s: Session, block: (i: number) => Uint8Array, ids: number[], o: UpdateOptions): CampaignConfig {
    var cfg = campaignConfig(s, block, ids, o);
    cfg.group = o.group;
    cfg.coded = o.method !== "patent";
    cfg.planLoss = o.loss;
    cfg.onlyCheck = !!o.checkOnly;
    // a packed image goes only to meters whose IDENTITY said their boot routine installs one:
    // the others (an older routine, or not identified yet) fail with 108 and are sent nothing
    if (getU32(block(0), 0) === PACKED_MAGIC) cfg.refuse = function (id) {
      var r = c.registry, k = r.find(id);
      return k < 0 || !(r.flags(k) & Rf.UNPACKS) ? Err.BOOT_NO_UNPACK : 0;
    };
    return cfg;
  }

  return {
    meters: function () {
      var r = c.registry;
      for (var i = 0; i < r.count(); i++) {
        var st = r.stats(i);
        print(r.id(i) + " kind " + r.kind(i) + " v" + r.version(i) + " ok " + st.ok + " missed " + st.fail + " seen " + st.lastSeen + " q " + st.quality + (r.flags(i) & Rf.REMOVED ? " removed" : ""));
      }
      return r.count();
    },
    update: function (file: string, o: UpdateOptions) {
      if (typeof file !== "string" || !file) return fail(Err.BAD_ARG, "update(file, options): file must be a Storage file name");
      var img = readFile(file);
      if (!img) return fail(Err.BAD_ARG, "no Storage file \"" + file + "\" (upload it with espruino --storage)");
      if (!o || typeof o !== "object") return fail(Err.BAD_ARG, "update(file, options): options {imageId, version, ...} missing");
      if (!isInt(o.imageId, 1, 0xffff)) return fail(Err.UPDATE_BAD_IMAGE_ID, "imageId must be a whole number from 1 to 65535");
      var f = imageFacts(file, img, o);
      if (typeof f === "number") return f;
      var s = f[0], ids = selectMeters(o, s.version, s.board);
      if (typeof ids === "number") return ids;
      var bad = badCampaignOptions(o);
      if (bad) return bad;
      var tags = o.tags === undefined ? null : typeof o.tags === "string" ? readFile(o.tags) : undefined;
      if (tags === undefined) return fail(Err.BAD_ARG, "tags: no Storage file \"" + o.tags + "\" (the head-end's authorisations, npm run keys -- authorise)");
      var block = blocksOf(native, img, img.length - s.size, s.blockSize);
      bad = sessionDigest(file, s, f[1], block, o.imageId);
      if (bad) return bad;
      var cfg = updateConfig(s, block, ids, o), e: number;
      if (tags && tagsInto(cfg, tags)) return Err.BAD_ARG;
      e = c.update(cfg, ended(s, ids));
      if (e) return fail(e, e === Err.LINK_NOT_READY ? "the modem is not ready" : BUSY);
      say("campaign " + s.imageId + " started: " + s.size + " bytes, " + s.blockCount + " blocks, " + ids.length + " meters");
      return 0;
    },
    /** Continues a paused campaign; with `file`, the campaign a restart interrupted. */
    resume: function (file?: string, tagFile?: string) {
      var camp = c.campaign();
      if (file === undefined) {
        if (!camp) return fail(Err.UPDATE_NO_SESSION, "no campaign");
        camp.resume();
        say("resumed");
        return 0;
      }
      var info = c.unfinished();
      if (!info) return fail(Err.UPDATE_NO_SESSION, "no interrupted campaign to resume");
      var img = typeof file === "string" ? readFile(file) : undefined;
      if (!img) return fail(Err.BAD_ARG, "resume(file): the campaign's image file is needed");
      var s = info.session;
      var roff = isImageFile(bytesAt(img, 0, 4)) ? IMAGE_FILE_HEADER : 0;
      var block = blocksOf(native, img, roff, s.blockSize);
      if (img.length - roff !== s.size || !digestMatches(native, s, block)) return fail(Err.UPDATE_DIGEST, "\"" + file + "\" is not the image of campaign " + s.imageId);
      var rcfg = campaignConfig(s, block, info.meters, {});
      rcfg.coded = info.coded;
      if (tagFile !== undefined) {
        var tags = readFile(tagFile);
        if (!tags) return fail(Err.BAD_ARG, "no Storage file \"" + tagFile + "\" with the campaign's tags");
        if (tagsInto(rcfg, tags)) return Err.BAD_ARG;
      }
      var e = c.resume(rcfg, ended(s, info.meters));
      if (e) return fail(e, e === Err.AUTH_NO_TAG ? "keyed meters: resume(file, tags)" : "the modem is not ready");
      say("campaign " + s.imageId + " resumed for " + info.meters.length + " meters");
      return 0;
    },
    progress: function () {
      var camp = c.campaign();
      if (!camp) { say("no campaign"); return Err.UPDATE_NO_SESSION; }
      var t = camp.totals, n = camp.meterCount(), done = 0, failed = 0;
      for (var i = 0; i < n; i++) { var st = camp.state(i); if (st === Ms.ACTIVATED) done++; else if (st === Ms.FAILED || st === Ms.REVERTED) failed++; }
      say("campaign " + PHASE_NAMES[camp.phase()] + ", round " + t.rounds + ", " + t.blocks + " blocks, " + t.polls + " polls, " + t.frames + " frames, " + t.bytes + " bytes" + (t.airtimeMs ? ", about " + Math.round(t.airtimeMs / 1000) + " s on air" : "") + ", " + done + " of " + n + " meters updated, " + failed + " failed" + (camp.code() ? ", E" + camp.code() : ""));
      return 0;
    },
    pause: function () { var camp = c.campaign(); if (!camp) return fail(Err.UPDATE_NO_SESSION, "no campaign"); camp.pause(); say("paused"); return 0; },
    abort: function () { var camp = c.campaign(); if (!camp) return fail(Err.UPDATE_NO_SESSION, "no campaign"); camp.abort(0); return 0; },
    read: function (id?: number) { return collectNow(id, Rd.REGISTERS, "read"); },
    join: function (id: number, g: number) {
      var e = c.join(id, g, function (code) { say("meter " + id + (code ? " not in group " + g + " (E" + code + ")" : " in group " + g)); });
      return e ? fail(e, e === Err.UNKNOWN_METER ? "meter " + id + " is not in the registry" : e === Err.BAD_ARG ? "join(meter id, group 1..4294967294)" : "busy or no modem") : 0;
    },
    profile: function (id?: number) { return collectNow(id, Rd.PROFILE, "profile"); },
    remove: function (id: number) {
      var r = c.registry, i = r.find(id);
      if (i < 0 || r.flags(i) & Rf.REMOVED) return fail(Err.UNKNOWN_METER, "remove(meter id in the registry)");
      r.setFlags(i, r.flags(i) | Rf.REMOVED);
      say("meter " + id + " removed (its readings stay)");
      return 0;
    },
    replace: function (oldId: number, newId: number) {
      var r = c.registry, i = r.find(oldId);
      if (i < 0 || r.flags(i) & Rf.REMOVED || !isInt(newId, 1, Id.MAX_METER) || r.find(newId) >= 0) return fail(Err.BAD_ARG, "replace(meter id in the registry, new meter id not in it)");
      // the new id takes the old one's place (how it came in, its group: joined on the line
      // below); what the new meter is comes from its identity, its readings are its own
      var k = r.add(newId, r.flags(i) & (Rf.CONFIGURED | Rf.DISCOVERED));
      if (k < 0) return fail(-k, "registry full");
      i = r.find(oldId);
      r.setFlags(i, r.flags(i) | Rf.REMOVED);
      say("meter " + newId + " replaces " + oldId);
      return r.group(i) ? this.join(newId, r.group(i)) : 0;
    },
    home: function (id: number, conc?: number) {
      var own = c.config.id, to = conc === undefined ? own : conc, r = c.registry, v = new U8(2);
      if (!isInt(id, 1, Id.MAX_METER) || !isInt(to, 0, P.MAX_CONC)) return fail(Err.BAD_ARG, "home(meter id[, concentrator id 1..65534, 0 none]): this concentrator by default");
      putU16(v, 0, to);
      var e = c.configure(id, Key.HOME, v, function (code) {
        var i = r.find(id);
        if (!code && i >= 0) {
          // handed over: this concentrator leaves it be from now on; taken (back): in service again
          if (to && to !== own) r.setFlags(i, r.flags(i) | Rf.REMOVED);
          else if (to === own) r.setFlags(i, r.flags(i) & ~Rf.REMOVED);
        }
        // (no answer to a hand-over: the meter may have taken it and its acknowledgements been
        // lost, after which it hears this concentrator no more; the other one's discovery tells)
        say("meter " + id + (code === Err.CAMPAIGN_NO_ANSWER && to !== own ? ": no answer (E" + code + "): it may have taken concentrator " + to + " (its discover() tells)"
          : code ? ": home refused (E" + code + ")" : to === own ? " belongs to this concentrator" : to ? " handed over to concentrator " + to + " (removed here, its readings stay)" : " belongs to no concentrator (still read here)"));
      });
      return e ? refused(e, id) : 0;
    },
    rotate: function (file?: string, o?: { drop?: boolean }) {
      if (file !== undefined && typeof file !== "string") return fail(Err.BAD_ARG, "rotate([\"rotation file in Storage\"[, {drop: true}]]): without a file, the active rotation goes on");
      var e = c.rotate(file || null, !!(o && o.drop), function (ok, failed, codes, skipped) {
        var f = "";
        for (var k = 0; k < failed.length; k++) f += " " + failed[k] + " E" + codes[k];
        // every meter of the rotation on its new keys (also before a restart): what npm run keys -- rotate --commit takes
        say("key rotation: " + ok.length + " meters on their new keys" + (ok.length ? ": " + ok.join(",") : "") + (failed.length ? "; unfinished (rotate() again):" + f : "") + (skipped.length ? "; not registered here: " + skipped.join(",") : ""));
      });
      return e ? fail(e, e === Err.BAD_ARG ? "rotate: " + file + " is not a rotation file of meters keyed here (npm run keys -- rotate)" : e === Err.ROTATION_UNFINISHED ? "rotate: the active rotation has unfinished meters: rotate() retries them, {drop: true} leaves them their old keys"
        : e === Err.UNSUPPORTED ? "rotate: this concentrator has no key file" : e === Err.STORE_FULL ? "rotate: Storage is full" : e === Err.LINK_NOT_READY ? "the modem is not ready" : BUSY) : 0;
    },
    billing: function (id?: number) { return collectNow(id, Rd.BILLING, "billing"); },
    tariff: function (id: number, weekdays: string, weekend?: string) {
      var v = scheduleBytes(weekdays, weekend);
      return v ? configure(id, Key.TARIFF, v, "tariff set", "tariff(meter id, weekdays, weekend)") : fail(Err.BAD_ARG, "tariff(meter id, \"00:00=1 07:00=2 22:00=1\" weekdays, weekend like it: up to 4 switches from 00:00 on quarter hours, rates 1 to 4)");
    },
    zone: function (id: number, offsetMin: number, rule: string) {
      var r = rule === "EU" ? Dst.EU : rule === "none" ? Dst.NONE : -1;
      if (!isInt(offsetMin, Tf.MIN_OFFSET, Tf.MAX_OFFSET) || offsetMin % 15 || r < 0) return fail(Err.BAD_ARG, "zone(meter id, offset minutes -720..840 in quarter hours, \"EU\" or \"none\")");
      return configure(id, Key.ZONE, new U8([offsetMin & 255, (offsetMin >> 8) & 255, r]), "zone set", "zone(meter id, offset minutes, rule)");
    },
    billingDay: function (id: number, day: number) {
      if (!isInt(day, 0, Tf.MAX_DAY)) return fail(Err.BAD_ARG, "billingDay(meter id, day of the month 1..28, 0 none)");
      return configure(id, Key.BILLING_DAY, new U8([day]), day ? "billing period ends on day " + day : "no billing day", "billingDay(meter id, day)");
    },
    endBilling: function (id: number) { return configure(id, Key.BILLING, new U8(0), "billing period ended", "endBilling(meter id)"); },
    identify: function (id?: number) { return collectNow(id, Rd.IDENTIFY, "identify"); },
    events: function (id?: number) { return collectNow(id, Rd.EVENTS, "events"); },
    time: function (unix: number) {
      var e = c.setTime(unix);
      if (e) return fail(e, e === Err.BAD_ARG ? "time(Unix seconds)" : "the modem is busy");
      say("clock set to " + unix + " here and sent to every meter");
      return 0;
    },
    export: function (format: string, from?: number, max?: number) {
      if (format !== "csv" && format !== "json" || from !== undefined && (format !== "json" || !isInt(from, 0, 0xffffffff) || max !== undefined && !isInt(max, 1, 1000))) {
        return fail(Err.BAD_ARG, "export(\"csv\" or \"json\"), or export(\"json\", from position, max 1..1000)");
      }
      return c.exportReadings(format, print, from, max);
    },
    ack: function (pos: number) {
      var e = isInt(pos, 0, 0xffffffff) ? c.store.ack(pos) : Err.BAD_ARG;
      return e ? fail(e, e === Err.BAD_ARG ? "ack(a position export gave, at most the end)" : "Storage is full") : 0;
    },
    discover: function (slots: number, slotMs: number) {
      // (a meter waits at most P.MAX_ANSWER_WAIT_MS, 10 min, for its slot)
      if (!isInt(slots, 1, 255) || !isInt(slotMs, 20, 60000) || slots * slotMs > P.MAX_ANSWER_WAIT_MS) return fail(Err.BAD_ARG, "discover(slots 1..255, slotMs 20..60000), slots x slotMs <= 600000");
      var e = c.discover({ slots: slots, slotMs: slotMs, rounds: 8 }, function (n, theirs) { say("discovery found " + n + " new meters, " + c.registry.count() + " known" + (theirs ? ", " + theirs + " of other concentrators left alone" : "")); });
      return e ? refused(e) : 0;
    },
  };
}
