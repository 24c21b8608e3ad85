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

  BOOT_NO_APP = 100,
  BOOT_APP_CORRUPT = 101,
  BOOT_APP_THREW = 102,

  CONFIG_MISSING = 120,
  CONFIG_CORRUPT = 121,
}
