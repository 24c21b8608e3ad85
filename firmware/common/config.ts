/*
 * The per-device configuration record, written once at provisioning by flash.sh.
 * Meters keep it in the last CONFIG_SIZE bytes of the boot region (written only at
 * provisioning, like the boot routine); concentrators in the Storage file CONFIG_FILE.
 * Layout (little endian): magic u32 "MLCF" | length u16 | format u16 | crc32 u32 of the
 * body | body: JSON text of length bytes. Parsed once at start-up, so JSON is affordable.
 * An erased, torn or foreign record reads as an error code, never as a half value.
 */
import { Err } from "./errors";
import type { Flash, Native } from "../../hal/types";
import { CONFIG_SIZE, type Region } from "./layout";
import { getU16, getU32, putU32, U8, sub, math } from "./bytes";

export var CONFIG_MAGIC = 0x46434c4d; // "MLCF" little endian
export var CONFIG_FORMAT = 1;
export var CONFIG_HEADER = 12;
export var CONFIG_FILE = "ml.cfg";

export interface DeviceConfig {
  /** Meter or concentrator id, 1..0xFFFFFFFE. */
  id: number;
  /** Modem device path, on the Linux build only. */
  modemPath?: string;
  /** Group ids the meter starts in. */
  groups?: number[];
  /** Meter: its root key, 32 hex digits (docs/security.md); absent: no authentication. */
  key?: string;
  /** Meter kind: 1 electricity (default), 2 water, 3 gas. */
  kind?: number;
  /** Concentrator: the meters it starts with (discovery adds more). */
  meters?: number[];
  /** Concentrator: minutes between register rounds (default 15) and hours between load-profile rounds (default 24). */
  readingMinutes?: number;
  profileHours?: number;
  /** Concentrator: Storage files its readings store keeps, 100 readings each (default 16; docs/concentrator.md). */
  storeFiles?: number;
}

/** Decodes a record from its bytes (flash or a Storage file). Returns the config or an Err code. */
export function decodeConfig(b: Uint8Array, native: Native): DeviceConfig | number {
  if (b.length < CONFIG_HEADER || getU32(b, 0) !== CONFIG_MAGIC) return Err.CONFIG_MISSING;
  var len = getU16(b, 4);
  if (len === 0 || len > b.length - CONFIG_HEADER || getU16(b, 6) !== CONFIG_FORMAT) return Err.CONFIG_CORRUPT;
  var body = sub(b, CONFIG_HEADER, CONFIG_HEADER + len);
  if (native.crc32(body) !== getU32(b, 8)) return Err.CONFIG_CORRUPT;
  var c: DeviceConfig;
  try {
    c = JSON.parse(native.bytesToString(body));
  } catch (e) {
    return Err.CONFIG_CORRUPT;
  }
  if (typeof c !== "object" || !c || typeof c.id !== "number" || c.id < 1 || c.id > 0xfffffffe || c.id % 1) return Err.CONFIG_CORRUPT;
  return c;
}

/** The meter's record: the last CONFIG_SIZE bytes of the boot region. */
export function readConfig(flash: Flash, native: Native, boot: Region): DeviceConfig | number {
  return decodeConfig(flash.read(boot.addr + boot.size - CONFIG_SIZE, CONFIG_SIZE), native);
}

/** Encodes a record, padded with 0xFF to whole 4-byte words. Host (flash.sh) and tests use it. */
export function encodeConfig(c: DeviceConfig, native: Native): Uint8Array {
  var text = JSON.stringify(c);
  var n = CONFIG_HEADER + text.length;
  var out = new U8(math.ceil(n / 4) * 4);
  for (var i = 0; i < out.length; i++) out[i] = 0xff;
  var body = new U8(text.length);
  for (var j = 0; j < text.length; j++) body[j] = text.charCodeAt(j) & 0xff;
  var crc = native.crc32(body) >>> 0;
  putU32(out, 0, CONFIG_MAGIC);
  putU32(out, 4, text.length | (CONFIG_FORMAT << 16));
  putU32(out, 8, crc);
  out.set(body, CONFIG_HEADER);
  return out;
}
