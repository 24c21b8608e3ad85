/*
 * Modem drivers as factories of one shape, so a role's entry can pick its board's driver
 * from a build-time constant and the bundle carries only that one. The drivers stay
 * top-level functions (NOINLINE): inlined into these closures, each of their own closures
 * would sit three scopes deep and carry a copy of the scope chain (42 variables on 2v29).
 */
import type { Hal } from "../../hal/types";
import type { Modem, ModemEvents } from "./modem";
import { st7580Modem } from "./st7580/driver";
import { transparentModem } from "./transparent/driver";

/** ST7580 in data-link mode: B-PSK option byte as in the worked example, 3 attempts. */
export function st7580Factory(baud: number): (hal: Hal, events: ModemEvents, seed: number) => Modem {
  return function (hal, events) {
    return /*@__NOINLINE__*/ st7580Modem(hal.modemUart, hal.modemTreq, hal.modemResetn, hal.clock, hal.native, events, { baud: baud, txOption: 0x04, attempts: 3 });
  };
}

/** A transparent modem at `lineBitRate` on the mains. */
export function transparentFactory(baud: number, lineBitRate: number): (hal: Hal, events: ModemEvents, seed: number) => Modem {
  return function (hal, events, seed) {
    return /*@__NOINLINE__*/ transparentModem(hal.modemUart, hal.clock, hal.native, events, { baud: baud, lineBitRate: lineBitRate, turnaroundMs: 10, maxPayload: 242, attempts: 4, seed: seed });
  };
}
