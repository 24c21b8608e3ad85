/*
 * The meter program's view of the boot routine's journal (read only: the journal region
 * is written by the boot routine alone). It tells whether the running program is a new
 * one on trial, and the outcome of the last install: docs/update.md.
 */
import type { Flash } from "../../hal/types";
import type { Region } from "../common/layout";
import { getU32 } from "../common/bytes";
import { JR_DONE, JR_FAILED, JR_REVERTED, JR_TRY } from "../common/update-image";
import { Uo } from "../protocol/catalogue";

/** The last install's outcome, sent as UPDATE_RESULT.outcome: the wire's values (the catalogue's Uo). */
export const enum Outcome { NONE = Uo.NONE, RUNNING = Uo.RUNNING, REVERTED = Uo.REVERTED, FAILED = Uo.FAILED }

export interface InstallOutcome {
  /** Outcome of the last install the journal records, for `imageId`. */
  outcome: number;
  imageId: number;
  /** Starts the new program has had on trial (0 when not on trial). */
  tries: number;
}

export function readOutcome(flash: Flash, journal: Region): InstallOutcome {
  var o: InstallOutcome = { outcome: Outcome.NONE, imageId: 0, tries: 0 };
  for (var a = journal.addr; a + 8 <= journal.addr + journal.size; a += 8) {
    var w = flash.read(a, 8), v = getU32(w, 0);
    if ((~v >>> 0) !== getU32(w, 4)) continue;
    var tag = (v & 0xf0000000) >>> 0, id = v & 0xffff;
    // the end of an install: its outcome, for its image, with no start on trial yet
    var end = tag === JR_DONE ? Outcome.RUNNING : tag === JR_REVERTED ? Outcome.REVERTED : tag === JR_FAILED ? Outcome.FAILED : Outcome.NONE;
    if (end) { o.outcome = end; o.imageId = id; o.tries = 0; }
    else if (tag === JR_TRY && id === o.imageId) o.tries = (v >>> 16) & 0xfff;
  }
  return o;
}
