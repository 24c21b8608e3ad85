/*
 * The registry kept across restarts in the concentrator's Storage: the meters it knows
 * (configured or discovered) with what they reported and the group it put them in. One
 * line each time something persistent about a meter changes (and, for the load-profile
 * and event marks, when the readings store lets go of its intervals and events):
 *   id,flags,kind,version,board,group,profileAt,eventAt
 * (lines written before the event log have no eventAt: read as 0)
 * is appended to the newer of two files, FILES[0] and FILES[1]; at start-up the lines are
 * replayed, the last one of a meter winning. Each file starts with "g<generation>" and its
 * snapshot of every meter, closed by "e"; a file without its end line (a power cut
 * while writing the snapshot) is not read, and is erased. When the appended lines
 * outnumber the meters (plus COMPACT_SLACK), a snapshot goes to the other file, and only
 * once its end line is written is the older file erased.
 *
 * Storage on these boards replaces a file by erasing it first and a power cut can tear an
 * append: so only appends are used, every line starts with a newline (a torn line never
 * joins the next one) and ends with ";" (a torn line, a prefix of one, lacks it: without
 * it "…,70" torn after "…,7" read as group 7), and a line that does not parse, or whose
 * numbers do not fit the registry's fields, is skipped.
 */
import type { Registry } from "./registry";
import { Id } from "../protocol/catalogue";

/** Append-only text files by name: Storage on the device. `append` throws when Storage is full. */
export interface TextFiles {
  append(name: string, text: string): void;
  /** Every line of the file (without its newline); nothing when it does not exist. */
  forEach(name: string, fn: (line: string) => void): void;
  erase(name: string): void;
  /** Names of the files whose name starts with `prefix`. */
  list(prefix: string): string[];
}

export var METER_FILES = ["ml.mtr0", "ml.mtr1"];
/** Appended lines allowed beyond one a meter before a snapshot. */
export var COMPACT_SLACK = 64;

export interface MeterFile {
  /** Meter i changed: its line is appended. False when Storage refused it. */
  changed(i: number): boolean;
}

/** The largest value of each field (id, flags, kind, version, board, group, profileAt, eventAt): the registry's typed arrays. */
var MAX = [Id.MAX_METER, 0xff, 0xff, 0xffffffff, 0xffff, 0xffffffff, 0xffffffff, 0xffffffff];

/**
 * A meter line's eight numbers (seven in a line from before the event log: eventAt 0), or null (torn, or not a meter line): whole numbers that fit
 * their fields, printing back as the line, before its ";".
 */
function fields(l: string): number[] | null {
  var n = l.length - 1;
  if (l.charAt(n) !== ";") return null;
  var s = l.substring(0, n), v = s.split(",").map(Number);
  if (v.length < 7 || v.length > 8 || v.join(",") !== s) return null;
  if (v.length === 7) v.push(0);
  for (var k = 0; k < 8; k++) if (!(v[k] >= 0 && v[k] <= MAX[k]) || v[k] % 1) return null;
  return v;
}

/** Reads the newest whole file into `reg`, erases a torn one, and keeps the registry's changes from now on. */
export function meterFile(files: TextFiles, reg: Registry): MeterFile {
  // per file: its generation (-1: none), whether its snapshot ended, whether it holds anything
  var gens = [-1, -1], ends = [false, false], seen = [false, false], k: number;
  for (k = 0; k < 2; k++) {
    files.forEach(METER_FILES[k], function (l) {
      seen[k] = true;
      if (gens[k] < 0 && l[0] === "g") gens[k] = +l.substr(1);
      else if (l === "e") ends[k] = true;
    });
  }
  var cur = -1;
  for (k = 0; k < 2; k++) if (ends[k] && gens[k] >= 0 && (cur < 0 || gens[k] > gens[cur])) cur = k;
  // the other file: an older generation, or a snapshot (or its first line) torn by a cut
  for (k = 0; k < 2; k++) if (k !== cur && seen[k]) files.erase(METER_FILES[k]);
  var gen = cur < 0 ? 0 : gens[cur], extra = 0, loading = true;
  if (cur >= 0) {
    files.forEach(METER_FILES[cur], function (l) {
      var v = fields(l), i = v ? reg.add(v[0], v[1]) : -1;
      if (i < 0) return;
      reg.setInfo(i, v![2], v![3]);
      reg.setBoard(i, v![4]);
      reg.setGroup(i, v![5]);
      if (v![6] > reg.profileAt(i)) reg.setProfileAt(i, v![6]);
      if (v![7] > reg.eventAt(i)) reg.setEventAt(i, v![7]);
      extra++;
    });
    extra -= reg.count();
  }
  loading = false;

  function line(i: number): string {
    return "\n" + reg.id(i) + "," + reg.flags(i) + "," + reg.kind(i) + "," + reg.version(i) + "," + reg.board(i) + "," + reg.group(i) + "," + reg.profileAt(i) + "," + reg.eventAt(i) + ";";
  }

  /** Every meter into the other file, then the older one erased. */
  function snapshot(): void {
    var next = cur < 0 ? 0 : 1 - cur, name = METER_FILES[next];
    files.erase(name);
    files.append(name, "\ng" + (gen + 1));
    for (var i = 0; i < reg.count(); i++) files.append(name, line(i));
    files.append(name, "\ne");
    if (cur >= 0) files.erase(METER_FILES[cur]);
    cur = next;
    gen++;
    extra = 0;
  }

  return {
    changed: function (i) {
      if (loading) return true;
      try {
        if (cur < 0 || extra > reg.count() + COMPACT_SLACK) snapshot();
        else { files.append(METER_FILES[cur], line(i)); extra++; }
        return true;
      } catch (e) {
        return false;
      }
    },
  };
}
