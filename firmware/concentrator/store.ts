/*
 * The readings store: collected readings, one line each (readings.ts), in append-only
 * Storage files rotated by name, "ml.r<n>" with n counting up, `segLines` lines a file.
 * Every line has a position, n * segLines + its index in file n, which never changes: a
 * head-end exports from a position on (since) and acknowledges up to one (ack), which is
 * kept as a line "a,<position>" in the newest file. Bounded: at most `maxSegs` files; to
 * make room, the oldest file goes once every line in it is acknowledged (a hook sees its
 * lines first: the registry keeps each meter's load-profile mark before its intervals
 * go). When nothing acknowledged can go, or Storage is full, a new reading is refused
 * (append throws, the collector counts it and asks for it again later): a reading not yet
 * acknowledged is never dropped.
 *
 * Storage replaces a file by erasing it first, and a power cut can tear an append: so only
 * appends and whole-file erases are used, every line starts with a newline (a torn line
 * never joins the next one) and ends with ";" (a torn one lacks it and is skipped). A torn
 * line keeps its position (it was the last before the cut: positions stay stable).
 */
import type { TextFiles } from "./meter-file";
import { Err } from "../common/errors";
import { math } from "../common/bytes";

export var STORE_PREFIX = "ml.r";

export interface ReadingStore {
  /** A reading: appended (throws when refused: store or Storage full of unacknowledged lines). */
  append(line: string): void;
  /** Every reading kept, oldest first. */
  forEach(fn: (line: string) => void): void;
  /** Readings from position `from` on, at most `max`: fn(line, position). Returns the position to ask from next. */
  since(from: number, max: number, fn: (line: string, pos: number) => void): number;
  /** The head-end keeps everything before `pos`: persisted. 0, or BAD_ARG beyond the end. */
  ack(pos: number): number;
  acked(): number;
  /** The position the next line gets. */
  end(): number;
  /** The oldest position still kept. */
  start(): number;
}

function isAck(l: string): boolean {
  return l.substr(0, 2) === "a,";
}

/** A line as written whole (its ";"), or null (torn). */
function whole(l: string): string | null {
  return l.length > 1 && l[l.length - 1] === ";" ? l.substr(0, l.length - 1) : null;
}

/** `freeing(line)`: each line of a file about to be erased (all acknowledged). */
export function readingStore(files: TextFiles, segLines: number, maxSegs: number, freeing: (line: string) => void): ReadingStore {
  // the files there are, by number
  var segs: number[] = [];
  var names = files.list(STORE_PREFIX);
  for (var k = 0; k < names.length; k++) {
    var n = +names[k].substr(STORE_PREFIX.length);
    if (n >= 0 && n % 1 === 0 && segs.indexOf(n) < 0) segs.push(n);
  }
  segs.sort(function (a, b) { return a - b; });
  // lines in the newest file, and the newest acknowledgement (kept in the newest file, or one before it)
  var cur = segs.length ? segs[segs.length - 1] : 0, used = 0, acked = segs.length ? segs[0] * segLines : 0;
  for (k = 0; k < segs.length; k++) {
    var count = 0;
    files.forEach(STORE_PREFIX + segs[k], function (l) {
      // a file holds segLines lines: any after them (a damaged file) are not the store's
      if (!l || count === segLines) return;
      // an acknowledgement is a whole position, at most its own line's (ack() writes it at the end)
      var w = whole(l), v;
      if (w && isAck(w) && (v = +w.substr(2)) > acked && v <= segs[k] * segLines + count && v % 1 === 0) acked = v;
      count++;
    });
    if (segs[k] === cur) used = count;
  }
  if (!segs.length) segs.push(0);

  /**
   * Erases the oldest file when every line in it is acknowledged; true when it did. Never the
   * newest file with lines: while the newest has none yet (opened, its first line refused
   * for room), the one before it stays too (erased with no file after it, a restart would
   * give its positions again).
   */
  function freeOldest(): boolean {
    if (segs.length < (used ? 2 : 3) || (segs[0] + 1) * segLines > acked) return false;
    files.forEach(STORE_PREFIX + segs[0], function (l) { var w = whole(l); if (w && !isAck(w)) freeing(w); });
    files.erase(STORE_PREFIX + segs[0]);
    segs.shift();
    return true;
  }

  /** Appends one line to the newest file, opening the next one when it is full. */
  function put(line: string): void {
    if (used === segLines) {
      if (segs.length >= maxSegs && !freeOldest()) throw new Error("store full");
      cur++;
      segs.push(cur);
      used = 0;
    }
    try {
      files.append(STORE_PREFIX + cur, "\n" + line + ";");
    } catch (e) {
      // Storage is full: room from an acknowledged file, once
      if (!freeOldest()) throw e;
      files.append(STORE_PREFIX + cur, "\n" + line + ";");
    }
    used++;
  }

  /** Each kept line from position `from` on, until fn returns false. */
  function scan(from: number, fn: (line: string, pos: number) => boolean): void {
    for (var s = 0; s < segs.length; s++) {
      if ((segs[s] + 1) * segLines <= from) continue;
      var pos = segs[s] * segLines, past = pos + segLines, go = true;
      files.forEach(STORE_PREFIX + segs[s], function (l) {
        if (!l || !go || pos === past) return;
        var w = whole(l);
        if (pos >= from && w && !isAck(w)) go = fn(w, pos);
        pos++;
      });
      if (!go) return;
    }
  }

  return {
    append: put,
    forEach: function (fn) { scan(0, function (l) { fn(l); return true; }); },
    since: function (from, max, fn) {
      var next = math.max(from, segs[0] * segLines), n = 0;
      scan(next, function (l, pos) {
        if (n === max) return false;
        fn(l, pos);
        n++;
        next = pos + 1;
        return true;
      });
      return n < max ? math.max(next, cur * segLines + used) : next;
    },
    ack: function (pos) {
      if (!(pos >= 0 && pos <= cur * segLines + used) || pos % 1) return Err.BAD_ARG;
      if (pos <= acked) return 0;
      // every wholly acknowledged file goes first (a full store needs the room for the line;
      // a cut before it is written leaves the oldest file kept as the acknowledgement)
      var was = acked;
      acked = pos;
      while (freeOldest());
      try {
        put("a," + pos);
      } catch (e) {
        // not kept: back to what a restart finds (an ack asked again is not said done unwritten)
        acked = math.max(was, segs[0] * segLines);
        return Err.STORE_FULL;
      }
      return 0;
    },
    acked: function () { return acked; },
    end: function () { return cur * segLines + used; },
    start: function () { return segs[0] * segLines; },
  };
}
