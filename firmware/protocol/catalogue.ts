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
export const enum Rd { REGISTERS = 1, PROFILE = 2, IDENTIFY = 3 }

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
 * Type code -> body layout, or null for an unknown type. A switch, not a table: on a board
 * the layouts stay in the program text (flash) and only the one in use is made in RAM, for
 * the message being coded (a table of 30 strings held about 150 variables, measured on
 * 2v29). Kept apart from the names so that device bundles, which never use the names,
 * carry only the layouts.
 */
/** The image as a control names it: UPDATE_CONTROL's fields, and what an authorisation binds. */
var IMAGE = "imageId:H version:I board:H size:I blockSize:H blockCount:H digest:D";

export function layoutOf(type: number): string | null {
  switch (type) {
    case T.READ_REQ: return "what:B obis:O from:I count:B";
    case T.READINGS: return "time:I regs:L(obis:O unit:B scaler:b value:I status:B)";
    case T.PROFILE: return "obis:O unit:B scaler:b start:I period:H slots:L(value:I status:B)";
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
    case T.DISCOVER_REPLY: return "nonce:H slot:B kind:B version:I";
    case T.UPDATE_SELECT: return "imageId:H op:B";
    case T.UPDATE_CONTROL: return IMAGE + " activateAt:I start:B";
    case T.DATA_BLOCK: return "imageId:H index:H data:R";
    case T.STATUS_QUERY: return "imageId:H";
    case T.STATUS_REPORT: return "imageId:H state:B received:H firstMissing:H form:B base:H covers:H map:R";
    case T.DOWNLOAD_COMPLETE: return "imageId:H version:I";
    case T.ACTIVATE: return "imageId:H at:I";
    case T.ABORT: return "imageId:H reason:H";
    case T.CONFIRM: return "imageId:H";
    case T.UPDATE_RESULT: return "imageId:H version:I outcome:B code:H";
    case T.VERSION_READ: return "";
    case T.VERSION: return "version:I imageId:H appCrc:I state:B";
    case T.AUTHORIZE: return IMAGE + " kind:B tag:K key:K";
    case T.REPAIR_BLOCK: return "imageId:H index:H data:R";
    case T.GROUP_QUERY: return "imageId:H who:B slots:B slotMs:H";
    case T.DEFICIT: return "imageId:H state:B received:H needed:H room:H code:H";
    case T.SELECT_LIST: return "imageId:H ids:L(id:I)";
    case T.AUTHORIZE_LIST: return IMAGE + " auths:L(id:I kind:B tag:K key:K)";
    case T.RESULT_LIST: return "imageId:H lead:H slotMs:H ids:L(id:I)";
  }
  return null;
}

/** Type code -> message name, for hosts, docs and tests; its keys are every type with a layout. */
export var NAMES: { [type: number]: string } = {
  0x10: "READ_REQ",
  0x11: "READINGS",
  0x12: "PROFILE",
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
