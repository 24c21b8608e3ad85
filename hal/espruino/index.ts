/*
 * The HAL on a real Espruino interpreter. Only this folder and the bundle entry points
 * touch Espruino globals. Kept small: every byte of source costs RAM on the device.
 */
import { Clock, Flash, Hal, OutputPin, PulseInput, ResetCause, SwitchInput, Uart } from "../types";
import { FlashGeometry } from "../../firmware/common/layout";
import { U8 } from "../../firmware/common/bytes";

export function espruinoFlash(geometry: FlashGeometry, memoryMapped: boolean): Flash {
  var F = require("Flash");
  return {
    geometry: geometry,
    read: function (addr, length) { return F.read(length, addr); },
    write: function (addr, data) { F.write(data, addr); },
    // erasePage refuses a number the interpreter holds as a float, even a whole one such as
    // Math.floor's result ("Address should be an integer, got Number"); read and write take it
    erase: function (addr) { F.erasePage(addr | 0); },
    mapped: function (addr, length) { return memoryMapped ? E.memoryArea(addr, length) : null; },
  };
}

export function espruinoClock(): Clock {
  return {
    now: function () { return getTime() * 1000; },
    // the interpreter's own functions (they need no object; every caller passes their arguments)
    setTimeout: setTimeout,
    setInterval: setInterval,
    clear: clearTimeout,
  };
}

export function espruinoUart(port: EspruinoSerial, options: EspruinoSerialOptions): Uart {
  return {
    setup: function (baud) { port.setup(baud, options); },
    write: function (data) { port.write(data); },
    onData: function (listener) { port.on("data", listener); },
  };
}

export function espruinoPin(pin: Pin | null): OutputPin | null {
  if (pin === null || pin === undefined) return null;
  return { set: function (high) { digitalWrite(pin, high); } };
}

/**
 * The meter's pulse input (S0): a falling edge on `pin`. A board with no pin for it (the
 * Linux build has no pins) counts a pulse at each `mlPulse()` typed at its console, which
 * is how the bench plays a meter's consumption on the real interpreter.
 */
export function espruinoPulse(pin: Pin | null): PulseInput | null {
  if (pin === null || pin === undefined) return { start: function (listener) { global.mlPulse = listener; }, stop: function () { delete global.mlPulse; } };
  var id = -1;
  return {
    start: function (listener, debounceMs) {
      id = setWatch(function (e) { listener(e.time * 1000); }, pin, { edge: "falling", repeat: true, debounce: debounceMs });
    },
    stop: function () { if (id >= 0) clearWatch(id); id = -1; },
  };
}

/**
 * The meter cover's tamper switch (`tamperPin`): a contact to ground that the closed cover
 * holds closed, read with the pull-up (open cover: high), debounced 50 ms. The Linux build
 * has no pins: there `mlTamper(1)` or `mlTamper(0)` typed at its console opens or closes it.
 */
export function espruinoSwitch(pin: Pin | "console"): SwitchInput {
  // (no function here is made inside another's function: each would carry a copy of the
  // scope chain, test/bundles/meter-bundles-keep-their-closures-shallow.test.ts)
  var state = false, listen: (() => void) | null = null;
  if (pin === "console") {
    global.mlTamper = function (o: number) { state = !!o; if (listen) listen(); };
    return { watch: function (listener) { listen = listener; }, open: function () { return state; } };
  }
  pinMode(pin, "input_pullup");
  return {
    watch: function (listener) { setWatch(listener, pin, { edge: "both", repeat: true, debounce: 50 }); },
    open: function () { return !!digitalRead(pin); },
  };
}

export interface EspruinoBoard {
  geometry: FlashGeometry;
  uart: EspruinoSerial;
  uartOptions: EspruinoSerialOptions;
  pulsePin: Pin | null;
  led: Pin | null;
  treq: Pin | null;
  resetn: Pin | null;
  sha256: boolean;
  memoryMapped: boolean;
  /** The interpreter drives a hardware watchdog here; elsewhere the watchdog does nothing (the ESP32's interpreter would print an error at every call). */
  watchdog: boolean;
}

export function espruinoHal(b: EspruinoBoard): Hal {
  return {
    flash: espruinoFlash(b.geometry, b.memoryMapped),
    clock: espruinoClock(),
    modemUart: espruinoUart(b.uart, b.uartOptions),
    pulse: espruinoPulse(b.pulsePin),
    led: espruinoPin(b.led),
    modemTreq: espruinoPin(b.treq),
    modemResetn: espruinoPin(b.resetn),
    watchdog: {
      enable: function (s) { if (b.watchdog) E.enableWatchdog(s, false); },
      kick: function () { if (b.watchdog) E.kickWatchdog(); },
    },
    system: {
      // (the interpreter's functions themselves where they take what we pass: a wrapper costs bytes and variables)
      reset: E.reboot,
      resetCause: function () { return ResetCause.UNKNOWN; },
      freeVariables: function () { return process.memory().free; },
    },
    native: {
      crc32: function (d) { return E.CRC32(d) >>> 0; },
      bytesToString: E.toString,
      sha256: b.sha256 ? function (d) { return new U8(require("crypto").SHA256(d)); } : null,
    },
  };
}
