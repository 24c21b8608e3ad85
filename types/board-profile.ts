/*
 * Type of the board profile a bundle is built for. The value is a virtual module made by
 * rollup.config.js from board-profiles/<BOARD>.json (deviceProfileModule in
 * tools/profiles/profiles.ts); tsconfig.json maps the name "board-profile" here for types.
 */
import type { FlashGeometry, Regions } from "../firmware/common/layout";

declare const profile: {
  board: string;
  code: number;
  role: string;
  variables: number;
  memoryMapped: boolean;
  geometry: FlashGeometry;
  regions: Regions;
  maxImageSize: number;
  repairRows: number;
  /** The interpreter drives a hardware watchdog on this board (E.enableWatchdog). */
  watchdog: boolean;
  modemKind: string;
  /** Transparent modems: bit rate on the mains; 0 otherwise. */
  lineBitRate: number;
  uart: EspruinoSerial;
  uartOptions: EspruinoSerialOptions;
  baud: number;
  treq: Pin | null;
  resetn: Pin | null;
  pulsePin: Pin | null;
  /** The meter cover's tamper switch (profile tamperPin), "console" on the Linux build, or null. */
  tamperPin: Pin | "console" | null;
  led: Pin | null;
  sha256: boolean;
  /** The coded method's decode streams each recovered block from flash (profile "decode": "streamed"). */
  streamedDecode: boolean;
};
export default profile;
