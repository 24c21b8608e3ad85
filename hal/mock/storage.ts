/*
 * Espruino's Storage as the concentrator uses it (firmware/concentrator/meter-file.ts
 * TextFiles): named append-only text files, with what the real one does wrong kept:
 * - a capacity in bytes: an append that does not fit throws, and writes nothing;
 * - power cuts: `cutAt(op)` makes operation `op` (appends and erases count from 0) the
 *   last: an append is torn (a prefix of its text, of random length, is written) and an
 *   erase may or may not have happened; PowerCut is thrown, and every later operation
 *   throws PowerCut until `powerOn()`.
 */
import { PowerCut } from "./flash";
import { Rng } from "./rng";

export class MockStorage {
  readonly files = new Map<string, string>();
  private ops = 0;
  private cut = -1;
  private dead = false;
  private readonly rng: Rng;

  constructor(public capacity = 1 << 20, seed = 1) { this.rng = new Rng(seed); }

  used(): number {
    let n = 0;
    for (const [name, text] of this.files) n += name.length + text.length;
    return n;
  }

  /** Operation `op` from now on (counted since the start) is the last before the power goes. */
  cutAt(op: number): void { this.cut = op; }
  /** Operations so far. */
  get count(): number { return this.ops; }
  /** True once the power went (until powerOn). */
  get off(): boolean { return this.dead; }
  powerOn(): void { this.dead = false; this.cut = -1; }

  private step(): boolean {
    if (this.dead) throw new PowerCut(this.ops);
    const op = this.ops++;
    if (op !== this.cut) return false;
    this.dead = true;
    return true;
  }

  append(name: string, text: string): void {
    if (this.used() + text.length + (this.files.has(name) ? 0 : name.length) > this.capacity) throw new Error("Storage full");
    const last = this.step();
    const old = this.files.get(name) ?? "";
    if (last) {
      this.files.set(name, old + text.slice(0, this.rng.int(text.length)));
      throw new PowerCut(this.ops - 1);
    }
    this.files.set(name, old + text);
  }

  /** Storage.read: the file, or `length` bytes of it from `offset` (undefined when it does not exist). */
  read(name: string, offset = 0, length?: number): string | undefined {
    if (this.dead) throw new PowerCut(this.ops);
    const t = this.files.get(name);
    return t === undefined ? undefined : t.substr(offset, length ?? t.length - offset);
  }

  /**
   * Storage.write: without `size`, or at offset 0 with it, a new file (the old one deleted
   * first; with `size` it is that long, erased, "\xff"), `data` at `offset`; with `size` at
   * another offset, `data` into the existing file. A cut deletes the old file and leaves the
   * new one absent or with a prefix of `data` written. False when it does not fit.
   */
  write(name: string, data: string, offset = 0, size?: number): boolean {
    const creating = size === undefined || offset === 0;
    const total = size ?? data.length;
    const old = this.files.get(name);
    if (creating && this.used() - (old === undefined ? 0 : name.length + old.length) + name.length + total > this.capacity) return false;
    if (!creating && (old === undefined || offset + data.length > old.length)) return false;
    const last = this.step();
    let text = creating ? "\xff".repeat(total) : old!;
    const put = last ? data.slice(0, this.rng.int(data.length)) : data;
    text = text.slice(0, offset) + put + text.slice(offset + put.length);
    if (last) {
      if (creating && this.rng.int(2)) this.files.delete(name); else this.files.set(name, text);
      throw new PowerCut(this.ops - 1);
    }
    this.files.set(name, text);
    return true;
  }

  /** Storage.erase: deletes a file written with write(). */
  remove(name: string): void { this.erase(name); }

  forEach(name: string, fn: (line: string) => void): void {
    if (this.dead) throw new PowerCut(this.ops);
    const text = this.files.get(name);
    if (text === undefined) return;
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    for (const l of lines) fn(l);
  }

  list(prefix: string): string[] {
    if (this.dead) throw new PowerCut(this.ops);
    return [...this.files.keys()].filter((n) => n.startsWith(prefix));
  }

  erase(name: string): void {
    const last = this.step();
    if (last) {
      if (this.rng.int(2)) this.files.delete(name);
      throw new PowerCut(this.ops - 1);
    }
    this.files.delete(name);
  }
}
