/*
 * The concentrator program's composition root: HAL, board facts, regions and
 * configuration come in as parameters. It owns the link (driver and endpoint) and routes
 * what meters send to the running campaign. The registry, reading collection and the
 * console functions plug in here next.
 */
import type { Hal } from "../../hal/types";
import type { Regions } from "../common/layout";
import type { DeviceConfig } from "../common/config";
import { Err } from "../common/errors";
import { Gop, Key, P, Rd, T } from "../protocol/catalogue";
import { Msg, newMsg, setMsg } from "../protocol/codec";
import { endpoint, Endpoint } from "../link/endpoint";
import { Modem, ModemEvents, MODEM_RETRY_MS } from "../link/modem";
import { concentratorAuth, type LinkKeys } from "../link/auth";
import { hmacSha256 } from "../common/hmac";
import { campaign, Campaign, CampaignConfig, readCheckpoint, Ph, unionRepair, type CheckpointBody } from "./campaign";
import { checkpoints } from "./checkpoint";
import { registry, Registry, Rf } from "./registry";
import { discover, Discovery, DiscoveryOptions } from "./discovery";
import { collector, exportReadings, readingMarks } from "./readings";
import { meterFile, type TextFiles } from "./meter-file";
import { readingStore, type ReadingStore } from "./store";
import type { KeyStore } from "./keystore";
import type { Session } from "../common/update-image";
import { floor } from "../common/bytes";

export interface ConcentratorContext {
  config: DeviceConfig;
  /** State and store regions: campaign and readings persistence. */
  regions: Regions;
  baud: number;
  endpoint: Endpoint;
  modem: Modem;
  /** Starts an update campaign, checkpointed in the store region; 0, or LINK_NOT_READY / CAMPAIGN_ABORTED when one is running. */
  update(cfg: CampaignConfig, done: (code: number) => void): number;
  /** The campaign a checkpoint left unfinished (before a restart), or null. */
  unfinished(): { session: Session; meters: number[]; coded: boolean } | null;
  /**
   * Resumes the unfinished campaign with `cfg` (its block source and limits; session and
   * meters come from the checkpoint). 0, or UPDATE_NO_SESSION when there is none.
   */
  resume(cfg: CampaignConfig, done: (code: number) => void): number;
  campaign(): Campaign | null;
  /** The meters: configured at provisioning and found by discovery. */
  registry: Registry;
  /**
   * Runs discovery rounds, then claims the meters that have no concentrator (discovery.ts);
   * `done` gets the number of meters registered new and of meters that answered naming
   * another concentrator. 0, or LINK_NOT_READY / CAMPAIGN_ABORTED (busy: a discovery or an
   * administrative request running).
   */
  discover(o: DiscoveryOptions, done: (found: number, neighbours: number) => void): number;
  /**
   * A round of readings now, of every meter or only `id`: registers (what 1, also every
   * READING_MINUTES) or the load profile since the last interval collected (what 2, also
   * every PROFILE_HOURS); 0, or LINK_NOT_READY / CAMPAIGN_ABORTED (busy) / UNKNOWN_METER.
   */
  collect(done: (collected: number, missed: number) => void, id?: number, what?: number): number;
  /**
   * Puts meter `id` in group `g` (GROUP_SET, up to 3 attempts) and records it in the
   * registry; done(0) or the meter's error code or CAMPAIGN_NO_ANSWER.
   */
  join(id: number, g: number, done: (code: number) => void): number;
  /**
   * Sets meter `id`'s configuration key `key` to `value` (CONFIG_SET, up to 3 attempts; the
   * meter's keys: firmware/meter/metering.ts Key); done(0) or the meter's error code or
   * CAMPAIGN_NO_ANSWER. 0, or UNKNOWN_METER / LINK_NOT_READY / CAMPAIGN_ABORTED (busy).
   */
  configure(id: number, key: number, value: Uint8Array, done: (code: number) => void): number;
  /** Sets the concentrator's clock (Unix s) and sends it to every meter (TIME_SET broadcast). */
  setTime(unix: number): number;
  /** Unix seconds, or 0 while the clock is not set. */
  now(): number;
  /**
   * Writes every kept reading as "csv" or "json" lines and returns how many; with `from`,
   * those from that store position on (at most `max`, JSON lines with their "pos") and
   * returns the position to ask from next.
   */
  exportReadings(format: string, out: (line: string) => void, from?: number, max?: number): number;
  /** The readings store (store.ts): positions, acknowledgements. */
  store: ReadingStore;
  lastError(): number;
  /**
   * Key rotation (docs/security.md): adopts the head-end's rotation file `file` (null: goes
   * on with the active one; `drop`: a previous one's unfinished meters keep their old keys),
   * then for each of its registered meters not finished yet sends CONFIG_SET KEY under its
   * keys now and again under its new ones: the acknowledgement of the second finishes it
   * (journaled; two tries). When every registered meter of it finished, the new keys go into
   * the key file and the rotation ends (meters not registered here keep their old keys).
   * done(every id of the rotation on its new keys, also those finished before a restart;
   * ids that did not finish, with the last code each got; ids not registered here). 0, or UNSUPPORTED (no key store) / LINK_NOT_READY / CAMPAIGN_ABORTED
   * (busy) / the store's codes (adopt).
   */
  rotate(file: string | null, drop: boolean, done: (rotated: number[], failed: number[], codes: number[], skipped: number[]) => void): number;
}

/** Meters a concentrator keeps (typed arrays: docs/concentrator.md). */
export var REGISTRY_CAPACITY = 1000;
/** Minutes between register reading rounds, unless the configuration says otherwise. */
export var READING_MINUTES = 15;
/** Hours between load-profile rounds, unless the configuration says otherwise. */
export var PROFILE_HOURS = 24;
/** Readings store (store.ts): lines a Storage file, and files kept unless the configuration says otherwise. */
export var STORE_LINES = 100;
export var STORE_FILES = 16;

/**
 * The link keys of keyed meters (docs/security.md: the head-end gives the concentrator each
 * meter's down and up keys, never its root or authorisation key), and where the transmit
 * counter's high-water mark is kept.
 */
export interface ConcentratorKeys {
  keys(id: number): LinkKeys | null;
  counter: { load(): number; save(hw: number): void };
  /** The key store, where keys can rotate (keystore.ts keyStore; absent: fixed keys). */
  rotation?: KeyStore;
}

export function startConcentrator(
  hal: Hal,
  baud: number,
  makeModem: (hal: Hal, events: ModemEvents, seed: number) => Modem,
  regions: Regions,
  config: DeviceConfig,
  files: TextFiles,
  keys?: ConcentratorKeys,
): ConcentratorContext {
  var current: Campaign | null = null;
  var finding: Discovery | null = null;
  var lastError = 0, ready = false;
  // the registry survives restarts in Storage (meter-file.ts), and each meter's load-profile
  // mark is found again in the readings file: a restart neither forgets nor files twice
  var kept: { changed(i: number): boolean } | null = null;
  var reg = registry(REGISTRY_CAPACITY, function (i) { if (kept && !kept.changed(i)) lastError = Err.STORE_FULL; });
  var timeBase = 0;
  function nowUnix(): number { return timeBase ? floor(timeBase + hal.clock.now() / 1000) : 0; }
  // one administrative request at a time (GROUP_SET from the console)
  var pendingSeq = -1, pendingId = 0, pendingTimer = 0, adminSeq = 0x8000;
  var pendingDone: ((code: number) => void) | null = null;
  // a key rotation running (rotate): one meter after the other, nothing else administrative meanwhile
  var rotating = false;
  var atx = /*@__NOINLINE__*/ newMsg();
  /** Administrative requests number from 0x8000 up, apart from the campaign's and the rounds'. */
  function nextAdminSeq(): number {
    adminSeq = adminSeq >= 0xffff ? 0x8000 : adminSeq + 1;
    return adminSeq;
  }
  function request(id: number, type: number, body: any, tries: number, done: (code: number) => void): void {
    var e = ep.send(setMsg(atx, type, nextAdminSeq(), P.BROADCAST_ID, P.TO_METER, id, body));
    pendingSeq = e ? -1 : atx.seq;
    pendingId = id;
    pendingDone = done;
    pendingTimer = hal.clock.setTimeout(function () {
      pendingTimer = 0;
      pendingSeq = -1;
      pendingDone = null;
      if (tries > 1) request(id, type, body, tries - 1, done);
      else done(Err.CAMPAIGN_NO_ANSWER);
    }, 3000);
  }
  kept = meterFile(files, reg);
  var known = config.meters || [];
  for (var k = 0; k < known.length; k++) reg.add(known[k], Rf.CONFIGURED);
  // before the store lets go of acknowledged intervals, each meter's mark goes into the registry file
  var freedId = -1;
  var readings = readingStore(files, STORE_LINES, config.storeFiles && config.storeFiles >= 2 ? config.storeFiles : STORE_FILES, function (line) {
    var id = +line.split(",")[0], i = reg.find(id);
    if (id !== freedId && i >= 0 && kept) kept.changed(i);
    freedId = id;
  });
  readingMarks(readings, reg);
  var hm = keys ? hmacSha256(hal.native, P.MAX_FRAME) : null;
  if (keys && !hm) lastError = Err.AUTH_UNAVAILABLE;
  var auth = keys && hm ? concentratorAuth(hm, keys.keys, function (id) { return reg.find(id); }, REGISTRY_CAPACITY, keys.counter) : undefined;
  // its address on the line: CONC_BASE + its id (1 to P.MAX_CONC: the entry refuses any other)
  var ep = endpoint(P.CONC_BASE + config.id, 4, {
    auth: auth,
    message: function (m: Msg, quality: number) {
      var i = reg.find(m.src);
      if (i >= 0) reg.note(i, true, quality, floor(hal.clock.now() / 1000));
      if (finding && finding.onMessage(m)) return;
      if (pendingSeq >= 0 && (m.type === T.ACK || m.type === T.ERROR) && m.body.refSeq === pendingSeq && m.src === pendingId) {
        var cb = pendingDone;
        pendingSeq = -1;
        pendingDone = null;
        if (pendingTimer) hal.clock.clear(pendingTimer);
        if (cb) cb(m.type === T.ACK ? 0 : m.body.code);
        return;
      }
      if (reader.onMessage(m, nowUnix())) return;
      if (current) current.onMessage(m);
    },
    ready: function (err) { ready = !err; if (err) { lastError = err; hal.clock.setTimeout(function () { modem.start(); }, MODEM_RETRY_MS); } },
    sent: function (_t, _s, err) {
      if (err) lastError = err;
      if (current) current.onSent();
    },
    inGroup: function () { return false; },
  });
  var store = checkpoints(hal.flash, regions.store!, hal.native);
  var reader = collector(ep, hal.clock, reg, readings, { answerMs: 3000, attempts: 3 });
  function campaignRunning(): boolean {
    return !!current && current.phase() !== Ph.DONE && current.phase() !== Ph.ABORTED;
  }
  function collect(done: (c: number, m: number) => void, id?: number, what?: number): number {
    var only = id === undefined ? undefined : reg.find(id);
    if (only !== undefined && only < 0) return Err.UNKNOWN_METER;
    if (!ready) return Err.LINK_NOT_READY;
    var refused = reader.refused();
    // the update has the line while it runs; readings wait for the next round
    if (campaignRunning() || !reader.round(function (c, m) {
      // Storage refused readings: said, and they are asked for again (collection goes on)
      if (reader.refused() > refused) lastError = Err.STORE_FULL;
      done(c, m);
    }, only, what)) return Err.CAMPAIGN_ABORTED;
    return 0;
  }
  var everyMin = config.readingMinutes && config.readingMinutes >= 1 ? config.readingMinutes : READING_MINUTES;
  var everyH = config.profileHours && config.profileHours >= 1 ? config.profileHours : PROFILE_HOURS;
  hal.clock.setInterval(function () { collect(function () {}); }, everyMin * 60000);
  // the load profile, then the events, then the billing registers, every profileHours
  hal.clock.setInterval(function () { collect(function () { collect(function () { collect(function () {}, undefined, Rd.BILLING); }, undefined, Rd.EVENTS); }, undefined, Rd.PROFILE); }, everyH * 3600000);
  var modem = makeModem(hal, ep.events, 0);
  ep.attach(modem);
  modem.start();
  /** The newest checkpoint (its bytes, read once) when it names a campaign that did not end, or null. */
  function unfinishedCheckpoint(): { b: Uint8Array; c: CheckpointBody } | null {
    var b = store.load(), c = b ? readCheckpoint(b) : null;
    return b && c && c.phase !== Ph.DONE && c.phase !== Ph.ABORTED ? { b: b, c: c } : null;
  }

  function unfinished(): { session: Session; meters: number[]; coded: boolean } | null {
    var u = unfinishedCheckpoint();
    return u ? { session: u.c.session, meters: u.c.meters, coded: u.c.coded } : null;
  }

  /** Starts a campaign (from a checkpoint with `restore`), checkpointed in the store region. */
  function run(cfg: CampaignConfig, done: (code: number) => void, restore?: Uint8Array): void {
    cfg.checkpoint = store;
    cfg.nowUnix = nowUnix;
    // a keyed campaign's broadcast blocks go signed under its block key
    if (auth) auth.blocks(cfg.blockKey || null);
    current = campaign(ep, hal.clock, cfg, unionRepair, done, restore);
    current.start();
  }

  return {
    config: config,
    regions: regions,
    baud: baud,
    endpoint: ep,
    modem: modem,
    update: function (cfg, done) {
      if (!ready) return Err.LINK_NOT_READY;
      if (campaignRunning() || reader.busy() || rotating) return Err.CAMPAIGN_ABORTED;
      run(cfg, done);
      return 0;
    },
    unfinished: unfinished,
    resume: function (cfg, done) {
      var u = unfinishedCheckpoint();
      if (!u) return Err.UPDATE_NO_SESSION;
      if (!ready) return Err.LINK_NOT_READY;
      if (rotating) return Err.CAMPAIGN_ABORTED;
      // a campaign to keyed meters goes on only with its tags: its blocks go signed under their block key
      if (keys && !cfg.authorise) for (var k = 0; k < u.c.meters.length; k++) if (keys.keys(u.c.meters[k])) return Err.AUTH_NO_TAG;
      cfg.session = u.c.session;
      cfg.meters = u.c.meters;
      run(cfg, done, u.b);
      return 0;
    },
    campaign: function () { return current; },
    rotate: function (file, drop, done) {
      var ks = keys && keys.rotation;
      if (!ks) return Err.UNSUPPORTED;
      if (!ready) return Err.LINK_NOT_READY;
      if (rotating || finding || pendingDone || campaignRunning() || reader.busy()) return Err.CAMPAIGN_ABORTED;
      var e = file ? ks.adopt(file, drop) : 0;
      if (e) return e;
      var store: KeyStore = ks, failed: number[] = [], codes: number[] = [], skipped: number[] = [];
      rotating = true;
      // record i: under its keys now, then under its new ones (`tries` rounds of both)
      function step(i: number, tries: number): void {
        while (i < store.count() && (store.isDone(i) || reg.find(store.id(i)) < 0)) {
          if (!store.isDone(i)) skipped.push(store.id(i));
          i++;
        }
        if (i >= store.count()) {
          rotating = false;
          // every meter of the rotation on its new keys, this run's and earlier runs' (before a
          // restart): what the head-end commits
          var all: number[] = [];
          for (var k = 0; k < store.count(); k++) if (store.isDone(k)) all.push(store.id(k));
          // every registered meter on its new keys: the rotation ends (the others keep their old ones)
          var c = failed.length ? 0 : store.compact(true);
          if (c) lastError = c;
          done(all, failed, codes, skipped);
          return;
        }
        var id = store.id(i), v = store.value(i);
        request(id, T.CONFIG_SET, { key: Key.KEY, value: v }, 3, function (first) {
          // (whatever it said: a meter that took the key before answers under the new one only)
          store.trying(i);
          request(id, T.CONFIG_SET, { key: Key.KEY, value: v }, 3, function (code) {
            store.trying(-1);
            if (!code) { code = store.done(i); if (code) lastError = code; }
            if (code && tries > 1) step(i, tries - 1);
            else {
              // the meter's own refusal under its keys now says more than the silence under the new ones
              if (code) { failed.push(id); codes.push(first && first !== Err.CAMPAIGN_NO_ANSWER ? first : code); }
              step(i + 1, 2);
            }
          });
        });
      }
      step(0, 2);
      return 0;
    },
    collect: collect,
    now: nowUnix,
    setTime: function (unix) {
      if (!(unix >= 1e9 && unix <= 0xffffffff) || unix % 1) return Err.BAD_ARG;
      timeBase = unix - hal.clock.now() / 1000;
      // keyed meters take the time only addressed to them: a register round now gives it to
      // each meter whose clock is unset or off (the collector's clock check)
      if (auth) hal.clock.setTimeout(function () { collect(function () {}); }, 2000);
      return ep.send(setMsg(atx, T.TIME_SET, nextAdminSeq(), P.BROADCAST_ID, P.TO_ALL, P.BROADCAST_ID, { time: unix }));
    },
    join: function (id, g, done) {
      var i = reg.find(id);
      if (i < 0) return Err.UNKNOWN_METER;
      if (!(g >= 1 && g <= 0xfffffffe) || g % 1) return Err.BAD_ARG;
      if (!ready) return Err.LINK_NOT_READY;
      if (pendingDone || rotating) return Err.CAMPAIGN_ABORTED;
      request(id, T.GROUP_SET, { op: Gop.JOIN, group: g }, 3, function (code) {
        if (!code) reg.setGroup(reg.find(id), g);
        done(code);
      });
      return 0;
    },
    configure: function (id, key, value, done) {
      if (reg.find(id) < 0) return Err.UNKNOWN_METER;
      if (!ready) return Err.LINK_NOT_READY;
      if (pendingDone || rotating) return Err.CAMPAIGN_ABORTED;
      request(id, T.CONFIG_SET, { key: key, value: value }, 3, done);
      return 0;
    },
    exportReadings: function (format, out, from, max) { return exportReadings(readings, format, out, from, max); },
    store: readings,
    registry: reg,
    discover: function (o, done) {
      if (!ready) return Err.LINK_NOT_READY;
      if (finding || pendingDone || rotating) return Err.CAMPAIGN_ABORTED;
      finding = discover(ep, hal.clock, reg, o, Math.random, function (n, theirs) { finding = null; done(n, theirs); }, config.id, function (id, value, claimed) {
        // (one administrative request at a time: a claim waits for the console's to end)
        function ask(): void {
          if (pendingDone) hal.clock.setTimeout(ask, 1000);
          else request(id, T.CONFIG_SET, { key: Key.HOME, value: value }, 3, claimed);
        }
        ask();
      }, keys ? function (id) { return !!keys.keys(id); } : undefined);
      return 0;
    },
    lastError: function () { return lastError; },
  };
}
