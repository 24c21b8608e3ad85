/*
 * Numeric error codes: the only error vocabulary on the device. Ranges:
 *   1-19 arguments and encoding, 20-39 flash and regions, 40-59 link,
 *   60-79 protocol, 80-99 update, 100-119 boot, 120-139 administration.
 * The host turns codes into names with tools/errors.ts (parsed from this file).
 */
export const enum Err {
  OK = 0,
  BAD_ARG = 1,
  OUT_OF_RANGE = 2,
  TRUNCATED = 3,
  TOO_LONG = 4,

  FLASH_UNALIGNED = 20,
  FLASH_OUTSIDE = 21,
  FLASH_NOT_ERASED = 22,
  FLASH_PROTECTED = 23,
  FLASH_NO_PAGE = 24,
  REGION_MISSING = 30,
  REGION_NOT_FREE = 31,
  REGION_UNALIGNED = 32,
  REGION_OVERLAP = 33,
  REGION_TOO_SMALL = 34,

  /** Link: the modem reported busy on every attempt. */
  LINK_BUSY = 40,
  /** Link: the modem NAKed every attempt. */
  LINK_NAK = 41,
  /** Link: no ACK/NAK within the ACK timeout on every attempt. */
  LINK_NO_ACK = 42,
  /** Link: no confirm within the confirm timeout. */
  LINK_NO_CONFIRM = 43,
  /** Link: no status message after T_REQ within the status timeout. */
  LINK_NO_STATUS = 44,
  /** Link: the modem answered a data request with an error frame. */
  LINK_TX_ERROR = 45,
  /** Link: send before the modem is ready, or while a send is outstanding. */
  LINK_NOT_READY = 46,
  /** Link: no reset indication after reset. */
  LINK_RESET_TIMEOUT = 47,
  /** Link: the modem refused the MIB write selecting its mode. */
  LINK_MIB_FAILED = 48,
  /** Link: the frame is empty or longer than the modem's payload. */
  LINK_FRAME_SIZE = 49,
  /** Link: the endpoint's transmit queue is full. */
  LINK_QUEUE_FULL = 50,

  /** Protocol: the header's version is not one this code speaks. */
  PROTO_VERSION = 60,
  /** Protocol: the message type is not in the catalogue. */
  PROTO_UNKNOWN_TYPE = 61,
  /** Protocol: bytes left over after the last field. */
  PROTO_TRAILING = 62,
  /** Protocol: a field value does not fit its wire type (encoder). */
  PROTO_BAD_FIELD = 63,
  /** Protocol: the destination mode is not meter, group or broadcast. */
  PROTO_BAD_ADDRESS = 64,
  /** Protocol: the message is longer than the smallest modem payload. */
  PROTO_TOO_LONG = 65,

  /** A record payload longer than the log's slots. */
  RECORD_TOO_LONG = 35,
  /** A flash write read back different: the unit is worn or failing. */
  FLASH_VERIFY = 36,

  /** Update: the image is built for another board. */
  UPDATE_WRONG_BOARD = 80,
  /** Update: block size not a multiple of 4 in 4..212. */
  UPDATE_BAD_BLOCK_SIZE = 81,
  /** Update: size zero, or block count not ceil(size / block size). */
  UPDATE_BAD_SIZE = 82,
  /** Update: the image does not fit the buffer or the app region. */
  UPDATE_TOO_LARGE = 83,
  /** Update: the version is not newer than the one installed. */
  UPDATE_NOT_NEWER = 84,
  /** Update: no download session for this image. */
  UPDATE_NO_SESSION = 85,
  /** Update: activation asked before the digest checked. */
  UPDATE_NOT_VERIFIED = 86,
  /** Update: every block arrived but the digest does not match. */
  UPDATE_DIGEST = 87,
  /** Update: image id 0. */
  UPDATE_BAD_IMAGE_ID = 88,
  /** Update: a control for a campaign this meter was not selected for. */
  UPDATE_NOT_SELECTED = 89,

  /** Campaign: the deadline passed. */
  CAMPAIGN_DEADLINE = 90,
  /** Campaign: the maximum number of repair rounds was reached. */
  CAMPAIGN_MAX_ROUNDS = 91,
  /** Campaign: no meter made progress for the configured number of rounds. */
  CAMPAIGN_NO_PROGRESS = 92,
  /** Campaign: aborted by the operator. */
  CAMPAIGN_ABORTED = 93,
  /** Campaign: a meter stopped answering (per-meter limit). */
  CAMPAIGN_NO_ANSWER = 94,

  BOOT_NO_APP = 100,
  BOOT_APP_CORRUPT = 101,
  BOOT_APP_THREW = 102,
  /** The buffer's image failed its digest at activation: the old program stays. */
  BOOT_BUFFER_BAD = 103,
  /** The app region failed its digest after every copy attempt. */
  BOOT_COPY_FAILED = 104,
  /** The new program never confirmed itself (or crashed): the previous one is back. */
  BOOT_REVERTED = 105,
  /** A revert was due but no previous program was kept. */
  BOOT_NO_PREVIOUS = 106,
  /** A new program on trial did not say it had started (global.mlUp) by the start deadline: reverted. */
  BOOT_APP_SILENT = 107,

  CONFIG_MISSING = 120,
  CONFIG_CORRUPT = 121,
  /** Admin: a message type this role does not serve. */
  UNSUPPORTED = 122,
  CONFIG_UNKNOWN_KEY = 123,
  CONFIG_BAD_VALUE = 124,
  /** Admin: the meter already belongs to the most groups it keeps. */
  GROUP_FULL = 125,
  /** Admin: an operation that needs the meter clock before it was set. */
  CLOCK_NOT_SET = 126,
  /** Registry: no room for another meter. */
  REGISTRY_FULL = 127,
  /** Registry: no meter with that id. */
  UNKNOWN_METER = 128,

  /** Auth: a keyed meter takes commands only with a MAC (this one came without, or is a broadcast it needs authenticated). */
  AUTH_REQUIRED = 140,
  /** Auth: the MAC does not match (wrong key, or the frame was changed). */
  AUTH_BAD_MAC = 141,
  /** Auth: the frame counter is not above the last one accepted (a replay, or a stale counter). */
  AUTH_REPLAY = 142,
  /** Auth: the authorisation tag does not match this meter, image, version and campaign. */
  AUTH_BAD_TAG = 143,
  /** Auth: activation or a control of a keyed meter without an authorisation for the image. */
  AUTH_NO_TAG = 144,
  /** Auth: this board cannot authenticate (no native SHA-256), or no key is provisioned. */
  AUTH_UNAVAILABLE = 145,
}
