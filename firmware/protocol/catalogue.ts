/*
 * The wire format: header constants, message type codes and the catalogue of body
 * layouts. This file and docs/protocol.md are the one source of truth; a test walks
 * both and fails when they disagree.
 *
 * Every message is   HEADER (14 bytes) | BODY | [AUTH TRAILER (12 bytes) when flags & AUTH]
 * and the whole message fits the smallest modem payload, the ST7580 data-link frame
 * (242 bytes). All integers are little endian.
 *
 * A body layout is a string of `name:K` fields separated by one space. K is one letter:
 *   B u8   b i8   H u16   I u32   i i32   O OBIS code (6 bytes)   K tag (16 bytes)   D digest (32 bytes)
 *   V bytes with a u8 length before them   R the rest of the body (last field only)
 *   L(...) a u8 count, then that many records of the fields in brackets (fixed-width
 *          kinds only: B b H I i O K D)
 * The string form costs the device a few hundred bytes of RAM instead of an object per
 * field, and the codec reads it without recursion.
 */

export const enum P {
  VERSION = 1,
  HEADER = 14,
  /** Frame counter (u32) + message authentication code (8 bytes). */
  TRAILER = 12,
  MAC = 8,
  /** The smallest supported modem payload: ST7580 data-link frame. */
  MAX_FRAME = 242,
  /** Header flag bits. */
  FLAG_AUTH = 1,
  FLAG_REPLY = 2,
  /** Destination modes. */
  TO_METER = 0,
  TO_GROUP = 1,
  TO_ALL = 2,
  /** Destination id used with TO_ALL. */
  BROADCAST_ID = 0xffffffff,
  /**
   * A concentrator's address on the line is CONC_BASE + its id (1 to 0xFFFE, from its
   * configuration): meter ids stay below CONC_BASE, so neither is ever taken for the other.
   */
  CONC_BASE = 0xffff0000,
  /** The highest concentrator id. */
  MAX_CONC = 0xfffe,
  /**
   * The longest a meter's answer to a broadcast (DISCOVER, GROUP_QUERY) waits for its slot,
   * 10 minutes: slots x slotMs beyond it are refused by the concentrator's discover, and a
   * meter answers by then whatever a request names (a stranger's DISCOVER with 255 slots of a
   * minute held its one slotted answer, and with it every other, for over four hours).
   */
  MAX_ANSWER_WAIT_MS = 600000,
  /** Largest data-block payload: MAX_FRAME - HEADER - DATA_BLOCK fixed fields (4) - TRAILER. */
  MAX_BLOCK = 212,
  /** Most blocks an image may have: the meter's rows decoder indexes its blocks with 16-bit signed columns. */
  MAX_BLOCKS = 32767,
  /** Largest missing-set map in a status report: MAX_FRAME - HEADER - TRAILER - 12. */
  MAX_MAP = 204,
  /** firstMissing when nothing is missing. */
  NONE_MISSING = 0xffff,
}

/** Message type codes (header byte 1). */
export const enum T {
  READ_REQ = 0x10,
  READINGS = 0x11,
  PROFILE = 0x12,
  EVENTS = 0x13,
  BILLING = 0x14,
  IDENTIFY = 0x20,
  IDENTITY = 0x21,
  STATUS_REQ = 0x22,
  STATUS = 0x23,
  TIME_SET = 0x24,
  CONFIG_GET = 0x25,
  CONFIG_VALUE = 0x26,
  CONFIG_SET = 0x27,
  GROUP_SET = 0x28,
  REBOOT = 0x29,
  ACK = 0x2a,
  ERROR = 0x2b,
  DISCOVER = 0x30,
  DISCOVER_REPLY = 0x31,
  UPDATE_SELECT = 0x40,
  UPDATE_CONTROL = 0x41,
  DATA_BLOCK = 0x42,
  STATUS_QUERY = 0x43,
  STATUS_REPORT = 0x44,
  DOWNLOAD_COMPLETE = 0x45,
  ACTIVATE = 0x46,
  ABORT = 0x47,
  CONFIRM = 0x48,
  UPDATE_RESULT = 0x49,
  VERSION_READ = 0x4a,
  VERSION = 0x4b,
  AUTHORIZE = 0x4c,
  REPAIR_BLOCK = 0x4d,
  GROUP_QUERY = 0x4e,
  DEFICIT = 0x4f,
  SELECT_LIST = 0x50,
  AUTHORIZE_LIST = 0x51,
  RESULT_LIST = 0x52,
}

/** READ_REQ.what, and the concentrator's rounds (IDENTIFY: identities, by IDENTIFY messages). */
export const enum Rd { REGISTERS = 1, PROFILE = 2, IDENTIFY = 3, EVENTS = 4, BILLING = 5 }

/** Limits of the answers. EVENTS: most events in one (13 bytes each: 15 fill 204 of the body's 216 bytes with the fields before them). */
export const enum Lim { EVENTS = 15 }

/**
 * Event codes of the meter's event log (EVENTS, OBIS 0-0:99.98.0): the DLMS/COSEM companion
 * specification IDIS's standard event codes where it defines one (1 to 47), codes of our own
 * from 230 on (IDIS leaves 230 to 255 to the manufacturer). What `data` holds: docs/meter.md.
 */
export const enum Ev {
  /** data: the start's reset cause (the interpreter's, 0 a power-on). Time: the last the meter knew it was running. */
  POWER_DOWN = 1,
  /** data: seconds since the POWER_DOWN before it. */
  POWER_UP = 2,
  /** Clock adjusted (IDIS 5, "new date/time"): time the new, data the old time. */
  CLOCK_ADJUSTED = 5,
  /** Firmware ready for activation: the image verified (data: its version). */
  FW_READY = 17,
  /** Firmware activated (data: the version). */
  FW_ACTIVATED = 18,
  /** Meter cover removed, closed: the tamper switch (data: the changes it made since the last such event). */
  COVER_OPENED = 44,
  COVER_CLOSED = 45,
  /** Authentication failures since the last such event (data: how many). */
  AUTH_FAILED = 46,
  /** Configuration changed (data: the CONFIG_SET key; 7 the groups). */
  CONFIG_CHANGED = 47,
  /** A download started (data: the version). */
  FW_DOWNLOAD = 230,
  /** An update control refused (data: error code x 65536 + image id). */
  FW_REFUSED = 231,
  /** A new program started on trial (data: its version). */
  FW_STARTED = 232,
  /** The program on trial confirmed itself (data: its version). */
  FW_CONFIRMED = 233,
  /** The boot routine put the previous program back (data: the image id it reverted). */
  FW_REVERTED = 234,
  /** The boot routine's install failed (data: the image id). */
  FW_FAILED = 235,
  /** The register started from zero: no register record in flash (data: the start's number). */
  REGISTER_RESET = 236,
  /** The concentrator's own: events the meter no longer held when asked (data: how many). */
  EVENTS_LOST = 237,
  /** A billing period ended (by command or on its day; time: its end, data: its maximum demand in W). */
  BILLING_END = 238,
}

/** What a meter measures (IDENTITY.kind, DISCOVER_REPLY.kind; 0 in the registry: not known yet). */
export const enum Kind { ELECTRICITY = 1, WATER = 2, GAS = 3 }

/** CONFIG_GET / CONFIG_SET keys (the values: docs/protocol.md, Configuration keys). */
export const enum Key { CONSTANT = 1, INTERVAL = 2, SAVE_PULSES = 3, MIN_SAVE = 4, MAX_SAVE = 5, KIND = 6, GROUPS = 7, TARIFF = 8, ZONE = 9, BILLING_DAY = 10, BILLING = 11, HOME = 12, KEY = 13 }

/**
 * CONFIG_SET value of KEY (a keyed meter's key rotation, docs/security.md): the new key's
 * generation u32 | the new root key wrapped under the current authorisation key (16) | its
 * tag (16). CONFIG_VALUE of KEY: the generation in use u32 | the one on its way u32 (0: none).
 */
export const enum Kv { GEN = 0, WRAPPED = 4, TAG = 20, LEN = 36, VALUE = 8 }

/**
 * CONFIG_SET / CONFIG_VALUE values of TARIFF, ZONE and BILLING_DAY, and the meter's TARIFF record that keeps them: the schedule (weekday switches, then weekend ones from WEEKEND:
 * SWITCHES pairs of quarter of the local day 0 to 95 and rate 1 to 4, in order from quarter
 * 0, 255 ends), the zone's offset (i16 minutes) at OFFSET, its daylight-saving rule at RULE
 * (calendar.ts Dst), the billing day (1 to 28, 0 none) at DAY.
 */
export const enum Tf { WEEKEND = 8, SWITCHES = 4, SCHEDULE = 16, OFFSET = 16, RULE = 18, DAY = 19, LEN = 20, MAX_DAY = 28, MAX_OFFSET = 840, MIN_OFFSET = -720, QUARTERS = 96, NO_SWITCH = 255, RATES = 4 }

/** GROUP_SET.op. */
export const enum Gop { JOIN = 1, LEAVE = 2, LEAVE_ALL = 3 }

/** IDENTITY.caps: what the meter can do beside the protocol. */
export const enum Cap {
  /** Its boot routine installs packed (compressed) images. */
  UNPACKS = 1,
}

/** UPDATE_SELECT.op. */
export const enum Sel { SELECT = 1, DESELECT = 2 }

/** GROUP_QUERY.who: which meters answer. */
export const enum Who {
  /** Only selected meters without a session for the image (they missed or refused the control). */
  NO_SESSION = 0,
  /** Those, and every meter whose download is not complete. */
  UNFINISHED = 1,
}

/** Status-report forms of the missing set. */
export const enum Form {
  NONE = 0,
  BITMAP = 1,
  RANGES = 2,
}

/**
 * A meter's update state as STATUS_REPORT.state, DEFICIT.state and VERSION.state (DLMS
 * image-transfer numbering). The meter's receiver keeps it (firmware/meter/update.ts Us).
 */
export const enum Ust { IDLE = 0, DOWNLOADING = 1, VERIFYING = 2, VERIFIED = 3, VERIFY_FAILED = 4, ACTIVATING = 5 }

/**
 * UPDATE_RESULT.outcome: the last install the meter's boot journal records
 * (firmware/meter/trial.ts Outcome). NONE is never sent: a meter with no outcome answers otherwise.
 */
export const enum Uo { NONE = 0, RUNNING = 1, REVERTED = 2, FAILED = 3 }

/** Meter ids: 1 to MAX_METER (4,294,901,759); the addresses from P.CONC_BASE up are concentrators'. */
export const enum Id { MAX_METER = P.CONC_BASE - 1 }

/**
 * Type code -> body layout, or null for an unknown type. A switch, not a table: on a board
 * the layouts stay in the program text (flash) and only the one in use is made in RAM, for
 * the message being coded (a table of 30 strings held about 150 variables, measured on
 * 2v29). Kept apart from the names so that device bundles, which never use the names,
 * carry only the layouts. The image's fields (imageId to digest) open UPDATE_CONTROL,
 * AUTHORIZE and AUTHORIZE_LIST, written out in each: a string in a variable of its own
 * stays in RAM (6 variables on the Original, measured with E.dumpVariables).
 */
export function layoutOf(type: number): string | null {
  // parts several layouts share, written once (locals: held only during the call)
  var reg = "obis:O unit:B scaler:b ", id = "imageId:H", image = id + " version:I board:H size:I blockSize:H blockCount:H digest:D ";
  switch (type) {
    case T.READ_REQ: return "what:B obis:O from:I count:B";
    case T.READINGS: return "time:I regs:L(" + reg + "value:I status:B)";
    case T.PROFILE: return reg + "start:I period:H slots:L(value:I status:B)";
    case T.EVENTS: return "first:I last:I events:L(n:I code:B time:I data:I)";
    case T.BILLING: return "time:I rate:B start:I regs:L(" + reg + "value:I status:B at:I)";
    case T.IDENTIFY: return "";
    case T.IDENTITY: return "kind:B board:H version:I imageId:H proto:B caps:B hw:V groups:L(group:I)";
    case T.STATUS_REQ: return "";
    case T.STATUS: return "uptime:I boots:I time:I alarms:I lastError:H resetCause:B freeVars:H update:B";
    case T.TIME_SET: return "time:I";
    case T.CONFIG_GET: return "key:B";
    case T.CONFIG_VALUE: return "key:B value:V";
    case T.CONFIG_SET: return "key:B value:V";
    case T.GROUP_SET: return "op:B group:I";
    case T.REBOOT: return "delay:H";
    case T.ACK: return "refType:B refSeq:H";
    case T.ERROR: return "refType:B refSeq:H code:H";
    case T.DISCOVER: return "nonce:H slots:B slotMs:H unregistered:B";
    case T.DISCOVER_REPLY: return "nonce:H slot:B kind:B version:I home:H";
    case T.UPDATE_SELECT: return id + " op:B";
    case T.UPDATE_CONTROL: return image + "activateAt:I start:B";
    case T.DATA_BLOCK: return id + " index:H data:R";
    case T.STATUS_QUERY: return id;
    case T.STATUS_REPORT: return id + " state:B received:H firstMissing:H form:B base:H covers:H map:R";
    case T.DOWNLOAD_COMPLETE: return id + " version:I";
    case T.ACTIVATE: return id + " at:I";
    case T.ABORT: return id + " reason:H";
    case T.CONFIRM: return id;
    case T.UPDATE_RESULT: return id + " version:I outcome:B code:H";
    case T.VERSION_READ: return "";
    case T.VERSION: return "version:I imageId:H appCrc:I state:B";
    case T.AUTHORIZE: return image + "kind:B tag:K key:K";
    case T.REPAIR_BLOCK: return id + " index:H data:R";
    case T.GROUP_QUERY: return id + " who:B slots:B slotMs:H";
    case T.DEFICIT: return id + " state:B received:H needed:H room:H code:H";
    case T.SELECT_LIST: return id + " ids:L(id:I)";
    case T.AUTHORIZE_LIST: return image + "auths:L(id:I kind:B tag:K key:K)";
    case T.RESULT_LIST: return id + " lead:H slotMs:H ids:L(id:I)";
  }
  return null;
}

/** Type code -> message name, for hosts, docs and tests; its keys are every type with a layout. */
export var NAMES: { [type: number]: string } = {
  0x10: "READ_REQ",
  0x11: "READINGS",
  0x12: "PROFILE",
  0x13: "EVENTS",
  0x14: "BILLING",
  0x20: "IDENTIFY",
  0x21: "IDENTITY",
  0x22: "STATUS_REQ",
  0x23: "STATUS",
  0x24: "TIME_SET",
  0x25: "CONFIG_GET",
  0x26: "CONFIG_VALUE",
  0x27: "CONFIG_SET",
  0x28: "GROUP_SET",
  0x29: "REBOOT",
  0x2a: "ACK",
  0x2b: "ERROR",
  0x30: "DISCOVER",
  0x31: "DISCOVER_REPLY",
  0x40: "UPDATE_SELECT",
  0x41: "UPDATE_CONTROL",
  0x42: "DATA_BLOCK",
  0x43: "STATUS_QUERY",
  0x44: "STATUS_REPORT",
  0x45: "DOWNLOAD_COMPLETE",
  0x46: "ACTIVATE",
  0x47: "ABORT",
  0x48: "CONFIRM",
  0x49: "UPDATE_RESULT",
  0x4a: "VERSION_READ",
  0x4b: "VERSION",
  0x4c: "AUTHORIZE",
  0x4d: "REPAIR_BLOCK",
  0x4e: "GROUP_QUERY",
  0x4f: "DEFICIT",
  0x50: "SELECT_LIST",
  0x51: "AUTHORIZE_LIST",
  0x52: "RESULT_LIST",
};

/** Event code -> name (Ev), for hosts, docs and tests: device bundles never use it. */
export var EVENT_NAMES: { [code: number]: string } = {
  1: "POWER_DOWN",
  2: "POWER_UP",
  5: "CLOCK_ADJUSTED",
  17: "FW_READY",
  18: "FW_ACTIVATED",
  44: "COVER_OPENED",
  45: "COVER_CLOSED",
  46: "AUTH_FAILED",
  47: "CONFIG_CHANGED",
  230: "FW_DOWNLOAD",
  231: "FW_REFUSED",
  232: "FW_STARTED",
  233: "FW_CONFIRMED",
  234: "FW_REVERTED",
  235: "FW_FAILED",
  236: "REGISTER_RESET",
  237: "EVENTS_LOST",
  238: "BILLING_END",
};
