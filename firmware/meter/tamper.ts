/*
 * The meter cover's tamper switch into the event log: an opening is written as COVER_OPENED
 * (with the changes the switch made since the last such event), a cover found closed again
 * after one as COVER_CLOSED. The switch is read once a minute and its changes counted in
 * between, so an opening closed again within the minute is still written, and a switch that
 * chatters (or is made to) writes at most two events a minute: bounded flash wear in the
 * profile ring (docs/meter.md, Event log). Only boards whose profile declares a tamperPin
 * carry this (the entry calls it under a build-time constant).
 */
import type { Clock, SwitchInput } from "../../hal/types";
import { Ev } from "../protocol/catalogue";
import type { Metering } from "./metering";

/** The switch is looked at this often (ms). */
export const enum Tamper { CHECK_MS = 60000 }

export function watchTamper(input: SwitchInput, metering: Metering, clock: Clock): void {
  // opened: an opening since the last check; logged: an opening written and no closing yet
  var opened = input.open(), logged = false, changes = opened ? 1 : 0;
  input.watch(function () {
    changes++;
    if (input.open()) opened = true;
  });
  clock.setInterval(function () {
    if (opened) {
      metering.event(Ev.COVER_OPENED, changes);
      opened = false;
      logged = true;
      changes = 0;
    }
    if (logged && !input.open()) {
      metering.event(Ev.COVER_CLOSED, changes);
      logged = false;
      changes = 0;
    }
  }, Tamper.CHECK_MS);
}
