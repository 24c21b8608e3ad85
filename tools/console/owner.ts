/*
 * Who owns a console port: a running head-end announces each port it holds with a small JSON
 * file in one folder (announceDir), so `npm run console` and `npm run deploy` given that port
 * go through the head-end's console relay (tools/headend/relay.ts) instead of fighting it for
 * the port (docs/headend.md, Console relay).
 *
 *   { "port": "tcp://127.0.0.1:4733", "device": null, "concentrator": "7",
 *     "relay": "tcp://127.0.0.1:40213", "pid": 4242, "since": 1800000000000 }
 *
 * One file a held port, named after the port; written whole (a temporary file renamed over
 * it), removed when the head-end lets the port go or exits. An announcement whose pid is no
 * longer alive (a head-end killed with -9) is ignored and removed by the next reader.
 */
import { mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { ToolError } from "../cli/cli";

export interface Announcement {
  /** The port as the head-end was given it (--concentrator). */
  port: string;
  /** A serial port's real path (symlinks such as /dev/serial/by-id/... resolved); null for tcp://. */
  device: string | null;
  /** The concentrator's id (meterline.config.id). */
  concentrator: string;
  /** The console relay: tcp://127.0.0.1:N. */
  relay: string;
  /** The head-end's process id. */
  pid: number;
  /** When it took the port (Unix ms). */
  since: number;
}

/**
 * The folder of announcements: $ML_HEADEND_DIR (tests; several head-ends kept apart), else
 * $XDG_RUNTIME_DIR/meterline (per user, emptied at logout), else <tmp>/meterline-headend-<uid>.
 */
export function announceDir(): string {
  if (process.env.ML_HEADEND_DIR) return process.env.ML_HEADEND_DIR;
  if (process.env.XDG_RUNTIME_DIR) return join(process.env.XDG_RUNTIME_DIR, "meterline");
  let uid: number | string = "user";
  try { uid = userInfo().uid; } catch { /* no user entry: one folder for all */ }
  return join(tmpdir(), `meterline-headend-${uid}`);
}

/** The same port however it is written: tcp://localhost:N is tcp://127.0.0.1:N; a device path through its symlinks. */
function canonical(port: string): { port: string; device: string | null } {
  if (port.startsWith("/")) {
    let device: string | null = null;
    try { device = realpathSync(port); } catch { device = null; }
    return { port, device };
  }
  return { port: port.replace(/^tcp:\/\/localhost:/, "tcp://127.0.0.1:"), device: null };
}

function fileOf(port: string): string {
  return join(announceDir(), `${encodeURIComponent(canonical(port).port)}.json`);
}

/** True when a process with this id runs (EPERM: it runs, as another user). */
export function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === "EPERM"; }
}

function isAnnouncement(x: unknown): x is Announcement {
  const a = x as Announcement;
  return !!a && typeof a.port === "string" && typeof a.concentrator === "string" && typeof a.relay === "string" && /^tcp:\/\/[^:/]+:\d+$/.test(a.relay) && Number.isInteger(a.pid);
}

/**
 * Announces that this process holds `port`; returns the function that takes the announcement
 * back (also run when the process exits).
 */
export function announce(port: string, concentrator: string, relay: string): () => void {
  const dir = announceDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const c = canonical(port);
  const a: Announcement = { port: c.port, device: c.device, concentrator, relay, pid: process.pid, since: Date.now() };
  const file = fileOf(port), tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(a) + "\n", { mode: 0o600 });
  renameSync(tmp, file);
  let done = false;
  const withdraw = () => {
    if (done) return;
    done = true;
    process.off("exit", withdraw);
    try {
      // only our own: a head-end that took the port after us keeps its announcement
      const now = JSON.parse(readFileSync(file, "utf8")) as Announcement;
      if (now.pid === process.pid && now.since === a.since) unlinkSync(file);
    } catch { /* gone already */ }
  };
  process.on("exit", withdraw);
  return withdraw;
}

/** The live head-end announcement for `port`, or null (none, unreadable, or its process is gone: that file is removed). */
export function heldBy(port: string): Announcement | null {
  const want = canonical(port);
  const dir = announceDir();
  let names: string[];
  try { names = readdirSync(dir).filter((n) => n.endsWith(".json")); } catch { return null; }
  for (const n of names) {
    let a: unknown;
    try { a = JSON.parse(readFileSync(join(dir, n), "utf8")); } catch { continue; }
    if (!isAnnouncement(a)) continue;
    const same = a.port === want.port || (want.device !== null && a.device === want.device);
    if (!same) continue;
    if (!alive(a.pid)) { try { unlinkSync(join(dir, n)); } catch { /* another reader took it */ } continue; }
    return a;
  }
  return null;
}

/**
 * Where a tool (console, deploy) should open `port`: the relay of the head-end that holds it,
 * or the port itself. With `direct`, a held port is refused with one line naming the head-end.
 * Throws HeldError.
 */
export function route(port: string, direct: boolean): { url: string; via: Announcement | null } {
  const a = heldBy(port);
  if (!a) return { url: port, via: null };
  if (direct) throw new HeldError(`${port} is held by the head-end (pid ${a.pid}, concentrator ${a.concentrator}): stop it, or leave out --direct to go through it`);
  return { url: a.relay, via: a };
}

/** The line a tool prints when it goes through a head-end. */
export function throughLine(port: string, a: Announcement): string {
  return `through the head-end (pid ${a.pid}) that holds ${port}`;
}

/** A held port refused with --direct: a failure (exit 1), not a usage error. */
export class HeldError extends ToolError {}
