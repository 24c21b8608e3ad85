/*
 * The Espruino globals that meterline's device code uses, and nothing more.
 * Only hal/espruino/ and the bundle entry points may touch them; everything else goes
 * through the HAL contracts in hal/types.ts. Facts measured on the 2v29 interpreter: docs/espruino.md, and the gate (tools/gate/gate.ts).
 * An API the interpreter lacks must not be declared here.
 */

type EspruinoData = string | Uint8Array | ArrayBuffer | number[];

interface EspruinoFlashArea { addr: number; length: number; }

interface EspruinoFlashModule {
  getFree(): EspruinoFlashArea[];
  getPage(addr: number): EspruinoFlashArea | undefined;
  erasePage(addr: number): void;
  write(data: EspruinoData, addr: number): void;
  read(length: number, addr: number): Uint8Array;
}

/** Storage.open: an append-only text file kept in Storage, written in chunks. */
interface EspruinoStorageFile {
  write(data: string): void;
  /** The next line with its newline, or undefined at the end. */
  readLine(): string | undefined;
  erase(): void;
}

interface EspruinoStorageModule {
  read(name: string, offset?: number, length?: number): string | undefined;
  open(name: string, mode: "r" | "w" | "a"): EspruinoStorageFile;
  write(name: string, data: EspruinoData, offset?: number, size?: number): boolean;
  erase(name: string): void;
  list(regex?: RegExp): string[];
  getFree(): number;
}

interface EspruinoCryptoModule {
  SHA256(data: EspruinoData): ArrayBuffer;
  SHA1(data: EspruinoData): ArrayBuffer;
}

interface EspruinoHeatshrinkModule {
  compress(data: EspruinoData): ArrayBuffer;
  decompress(data: EspruinoData): ArrayBuffer;
}

interface EspruinoSerialOptions { rx?: Pin; tx?: Pin; path?: string; bytesize?: number; parity?: string | null; stopbits?: number; }

interface EspruinoSerial {
  setup(baud: number, options?: EspruinoSerialOptions): void;
  write(data: EspruinoData): void;
  on(event: "data", listener: (data: string) => void): void;
  removeAllListeners(event?: string): void;
}

/** A pin: a number on every board (Espruino pins are numbered objects). */
type Pin = number;

interface EspruinoWatchOptions { edge?: "rising" | "falling" | "both"; repeat?: boolean; debounce?: number; }
interface EspruinoWatchEvent { time: number; lastTime?: number; state: boolean; }

interface EspruinoMemory { free: number; usage: number; total: number; history: number; }

declare var E: {
  CRC32(data: EspruinoData): number;
  toString(data: Uint8Array | ArrayBuffer | number[]): string;
  toUint8Array(data: string): Uint8Array;
  memoryArea(addr: number, len: number): string;
  setBootCode(code: string, alwaysExec?: boolean): void;
  reboot(): void;
  enableWatchdog(timeoutSeconds: number, isAuto?: boolean): void;
  kickWatchdog(): void;
  getErrorFlags(): string[];
};

declare var Serial1: EspruinoSerial;
declare var Serial2: EspruinoSerial;
declare var Serial3: EspruinoSerial;
declare var Serial4: EspruinoSerial;
declare var Serial5: EspruinoSerial;
declare var Serial6: EspruinoSerial;

declare var process: { memory(): EspruinoMemory; env: { [key: string]: string | number | undefined } };

declare function require(name: "Flash"): EspruinoFlashModule;
declare function require(name: "Storage"): EspruinoStorageModule;
declare function require(name: "crypto"): EspruinoCryptoModule;
declare function require(name: "heatshrink"): EspruinoHeatshrinkModule;

declare function getTime(): number;
declare function setTimeout(fn: () => void, ms: number): number;
declare function clearTimeout(id: number): void;
declare function setInterval(fn: () => void, ms: number): number;
declare function clearInterval(id: number): void;
declare function setWatch(fn: (e: EspruinoWatchEvent) => void, pin: Pin, options: EspruinoWatchOptions): number;
declare function clearWatch(id: number): void;
declare function digitalWrite(pin: Pin, value: boolean | number): void;
declare function digitalRead(pin: Pin): number;
declare function pinMode(pin: Pin, mode: "input" | "input_pullup" | "output" | "opendrain"): void;
declare function print(...text: unknown[]): void;
declare function btoa(binary: string): string;
declare function atob(base64: string): string;
/** The interpreter's global object. */
declare var global: { [name: string]: unknown };

/**
 * 2v29: a typed array's slice() and filter() give a plain Array, not a typed array
 * (measured). These overloads come first, so code that needs a typed array does not
 * compile: copy with `new Uint8Array(a.subarray(s, e))`, or take a view with subarray.
 */
interface Uint8Array {
  slice(start?: number, end?: number): number[];
  filter(predicate: (value: number, index: number, array: Uint8Array) => unknown, thisArg?: any): number[];
}
