/*
 * The head-end's SQLite on a worker thread (tools/headend/db-thread.ts): the same rows,
 * cursor and answers as HeadendDb on the same file, a batch's new readings returned (a replay
 * adds nothing), errors with the database's own message, and the file readable after close.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ThreadedDb } from "../../tools/headend/db-thread";
import { HeadendDb, type Reading } from "../../tools/headend/db";

const open: ThreadedDb[] = [];
afterEach(async () => { for (const d of open.splice(0)) await d.close(); });

const batch = (from: number, n: number): Reading[] => Array.from({ length: n }, (_, i) => ({ pos: from + i, meter: 1001 + (i % 3), obis: "1-0:1.8.0", value: 100 + from + i, unit: "Wh", time: 1_800_000_000 + 900 * (from + i), status: i % 2 }));

describe("the head-end's database on its own thread", () => {
  it("stores batches with their cursor, returns what was new, and answers as SQLite on the same file does", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "dbthread-")), "h.db");
    const db = await ThreadedDb.open(file);
    open.push(db);
    await db.concentrator("7", "tcp://127.0.0.1:1");
    expect(await db.cursor("7")).toBe(0);
    const first = batch(0, 50);
    expect(await db.store("7", first, 50)).toEqual(first);
    // a replay of part of it and new rows: only the new ones come back, in order, the same objects
    const second = [...first.slice(40), ...batch(50, 20)];
    const added = await db.store("7", second, 70);
    expect(added).toEqual(batch(50, 20));
    expect(added[0]).toBe(second[10]);
    expect(await db.cursor("7")).toBe(70);
    await db.meters("7", [{ id: 1001, kind: 1, version: 3, ok: 1, missed: 0, lastSeen: 5, quality: 30 }]);
    const o = await db.overview({ offset: 0, limit: 10 });
    expect(o.meterCount).toBe(1);
    expect(o.last).toEqual([{ concentrator: "7", meter: 1001, obis: "1-0:1.8.0", value: 100 + 68, unit: "Wh", time: 1_800_000_000 + 900 * 68, status: 0 }]);
    expect((await db.series(1002, 0)).length).toBe(24);
    expect(db.storeMs).toBeGreaterThan(0);
    await db.close();
    open.pop();
    // the same rows through SQLite on this thread
    const lite = new HeadendDb(file);
    expect(lite.readings("7").map((r) => r.pos)).toEqual(Array.from({ length: 70 }, (_, i) => i));
    expect(lite.cursor("7")).toBe(70);
    lite.close();
  });

  it("fails with the database's message: a file that is not a database, a reading its constraints refuse; and refuses calls once closed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dbthread-"));
    writeFileSync(join(dir, "not.db"), "this is not a database file at all, only text, long enough to be read as a header");
    await expect(ThreadedDb.open(join(dir, "not.db"))).rejects.toThrow(/not a database/);
    const db = await ThreadedDb.open(join(dir, "h.db"));
    open.push(db);
    // a concentrator that was never attached: the foreign key refuses its rows, nothing is stored
    await expect(db.store("9", batch(0, 3), 3)).rejects.toThrow(/FOREIGN KEY/);
    expect(await db.cursor("9")).toBe(0);
    await db.close();
    open.pop();
    await expect(db.cursor("7")).rejects.toThrow("the database is closed");
  });
});
