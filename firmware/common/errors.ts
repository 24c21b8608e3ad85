/*
 * Numeric error codes: the only error vocabulary on the device, which keeps the numbers. The
 * host names them: tools/errors/table.ts reads this file (each member's name and number, and
 * its meaning from the one-line doc comment above it), and `npm run errors -- 94` prints
 * "E94 CAMPAIGN_NO_ANSWER: ...". So every code has a doc comment of one line, and sits in the
 * block of its range, in this order. Ranges:
 *   1-19 arguments and encoding
 *   20-39 flash, regions and the record log
 *   40-59 link
 *   60-79 protocol
 *   80-89 update
 *   90-99 campaign
 *   100-119 boot
 *   120-139 configuration, administration and registry
 *   140-159 authentication
 * A new code takes the next free number of its range; a test
 * (test/tools/error-codes-have-names-and-host-tools-print-them.test.ts) checks names,
 * numbers, meanings and ranges. Codes no current code raises are kept: old logs and replies
 * may carry them.
 */
export const enum Err {
  /** Success: no error. */
  OK = 0,

  /** An argument is missing, of the wrong type or out of its range. */
  BAD_ARG = 1,
  /** A value is outside the range its field allows (not raised by the current firmware). */
  OUT_OF_RANGE = 2,
  /** A read ran past the end of the bytes: a frame or record shorter than its layout. */
  TRUNCATED = 3,
  /** A write ran past the end of its buffer: an encoding longer than the room for it. */
  TOO_LONG = 4,

  /** Flash: an address or length not aligned to the flash's write unit (not raised by the current firmware). */
  FLASH_UNALIGNED = 20,
  /** Flash: an access outside the region it belongs to. */
  FLASH_OUTSIDE = 21,
  /** Flash: a write to flash that was not erased (not raised by the current firmware). */
  FLASH_NOT_ERASED = 22,
  /** Flash: a write or erase inside the boot routine's own regions, refused by the flash guard. */
  FLASH_PROTECTED = 23,
  /** Flash: no erase page at that address (not raised by the current firmware). */
  FLASH_NO_PAGE = 24,
  /** Region: a region the role needs is not in the board profile. */
  REGION_MISSING = 30,
  /** Region: a region lies outside the free flash the interpreter reports (its binary or Storage is there). */
  REGION_NOT_FREE = 31,
  /** Region: a region does not start and end on erase-page boundaries. */
  REGION_UNALIGNED = 32,
  /** Region: two regions overlap (not raised by the current firmware: the profile check refuses it on the host). */
  REGION_OVERLAP = 33,
  /** Region: a region is smaller than what it must hold (not raised by the current firmware: the profile check refuses it on the host). */
  REGION_TOO_SMALL = 34,
  /** Record log: a record payload longer than the log's slots. */
  RECORD_TOO_LONG = 35,
  /** Flash: a write read back different: the unit is worn or failing. */
  FLASH_VERIFY = 36,

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
  /** Protocol: a field value does not fit its wire type, or a missing-block report contradicts itself. */
  PROTO_BAD_FIELD = 63,
  /** Protocol: the destination mode is not meter, group or broadcast. */
  PROTO_BAD_ADDRESS = 64,
  /** Protocol: the message is longer than the smallest modem payload. */
  PROTO_TOO_LONG = 65,

  /** Update: the image is built for another board. */
  UPDATE_WRONG_BOARD = 80,
  /** Update: block size not a multiple of 4 in 4..212. */
  UPDATE_BAD_BLOCK_SIZE = 81,
  /** Update: size zero, or block count not ceil(size / block size). */
  UPDATE_BAD_SIZE = 82,
  /** Update: the image does not fit the buffer or the app region, or needs more than 32,767 blocks (P.MAX_BLOCKS). */
  UPDATE_TOO_LARGE = 83,
  /** Update: the version is not newer than the one installed. */
  UPDATE_NOT_NEWER = 84,
  /** Update: no download session (or campaign) for this image. */
  UPDATE_NO_SESSION = 85,
  /** Update: activation asked before the digest checked. */
  UPDATE_NOT_VERIFIED = 86,
  /** Update: the digest does not match (every block arrived, or an image file's header or payload). */
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
  /** Campaign: aborted by the operator, or refused because a campaign or a collection round is running. */
  CAMPAIGN_ABORTED = 93,
  /** Campaign: a meter stopped answering (per-meter limit). */
  CAMPAIGN_NO_ANSWER = 94,

  /** Boot: no program in the app region (no valid header, or no session to install from). */
  BOOT_NO_APP = 100,
  /** Boot: the program in the app region fails its CRC-32. */
  BOOT_APP_CORRUPT = 101,
  /** Boot: the program threw when it started. */
  BOOT_APP_THREW = 102,
  /** Boot: the buffer's image failed its digest at activation: the old program stays. */
  BOOT_BUFFER_BAD = 103,
  /** Boot: the app region failed its digest after every copy attempt. */
  BOOT_COPY_FAILED = 104,
  /** Boot: the new program never confirmed itself (or crashed): the previous one is back. */
  BOOT_REVERTED = 105,
  /** Boot: a revert was due but no previous program was kept. */
  BOOT_NO_PREVIOUS = 106,
  /** Boot: a new program on trial did not say it had started (global.mlUp) by the start deadline: reverted. */
  BOOT_APP_SILENT = 107,
  /** Boot: the image is packed (compressed) and the boot routine cannot install it (no heatshrink decompress, larger than the app region, a routine from before packed images); or the concentrator does not know that it can (the meter's IDENTITY did not say so: identify() first), so it sends it nothing. The old program stays. */
  BOOT_NO_UNPACK = 108,

  /** Config: no device configuration record: provision the board with flash.sh. */
  CONFIG_MISSING = 120,
  /** Config: the device configuration record fails its CRC-32 or its fields are invalid. */
  CONFIG_CORRUPT = 121,
  /** Admin: a message type this role does not serve (or, at start, no hardware watchdog on this build). */
  UNSUPPORTED = 122,
  /** Admin: a configuration key the meter does not know. */
  CONFIG_UNKNOWN_KEY = 123,
  /** Admin: a configuration value of the wrong size or out of its range. */
  CONFIG_BAD_VALUE = 124,
  /** Admin: the meter already belongs to the most groups it keeps. */
  GROUP_FULL = 125,
  /** Admin: an operation that needs the meter clock before it was set. */
  CLOCK_NOT_SET = 126,
  /** Registry: no room for another meter. */
  REGISTRY_FULL = 127,
  /** Registry: no meter with that id. */
  UNKNOWN_METER = 128,
  /** Store: Storage refused a reading (full): it is not counted as collected and is asked for again; the rest goes on. */
  STORE_FULL = 129,
  /** Keys: a key rotation has meters that did not finish (rotate() retries them; rotate(file, {drop: true}) leaves them their old keys). */
  ROTATION_UNFINISHED = 130,

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
  /** Auth: the frame counter reached 2^32 - 1: the link stays closed until the meter is re-keyed (USB provisioning). */
  AUTH_EXHAUSTED = 146,
  /** Auth: a key rotation to a generation older than the meter's key (a newer one was taken since). */
  AUTH_KEY_STALE = 147,
}
