import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { MESSAGES, type FieldDef } from "../../harness/messages";

const doc = readFileSync(new URL("../../../docs/protocol.md", import.meta.url), "utf8");
const DOC_TYPE: Record<string, string> = { B: "u8", b: "i8", H: "u16", I: "u32", i: "i32", O: "obis", K: "tag", D: "digest", V: "bytes", R: "rest", L: "list" };

/** Each "### 0xNN NAME" section's table rows as [field, type]. */
function docMessages(): Map<number, { name: string; rows: [string, string][] }> {
  const out = new Map<number, { name: string; rows: [string, string][] }>();
  const sections = doc.split(/^### /m).slice(1);
  for (const s of sections) {
    const head = /^0x([0-9A-F]{2}) ([A-Z_]+)\s*$/m.exec(s.split("\n")[0]);
    if (!head) continue;
    const rows: [string, string][] = [];
    let inFields = false; // only the "| field | type | meaning |" table describes the layout
    for (const line of s.split("\n")) {
      const cells = line.split("|").map((c) => c.trim());
      if (cells.length < 4) { inFields = false; continue; }
      if (cells[1] === "field") { inFields = true; continue; }
      if (!inFields || cells[1].startsWith("---")) continue;
      rows.push([cells[1], cells[2]]);
    }
    out.set(parseInt(head[1], 16), { name: head[2], rows });
  }
  return out;
}

function codeRows(fields: FieldDef[]): [string, string][] {
  const rows: [string, string][] = [];
  for (const f of fields) {
    rows.push([f.name, DOC_TYPE[f.kind]]);
    if (f.record) for (const r of f.record) rows.push([`${f.name}[].${r.name}`, DOC_TYPE[r.kind]]);
  }
  return rows;
}

describe("docs/protocol.md and firmware/protocol/catalogue.ts", () => {
  const documented = docMessages();

  it("list the same message types with the same names", () => {
    expect([...documented.entries()].map(([t, d]) => [t, d.name])).toEqual(MESSAGES.map((m) => [m.type, m.name]));
  });

  for (const m of MESSAGES) {
    it(`agree on every field of ${m.name} in order, with its type`, () => {
      expect(documented.get(m.type)?.rows).toEqual(codeRows(m.fields));
    });
  }

  it("agree on the header layout and the frame limits", () => {
    const header = doc.split("### Header")[1].split("###")[0];
    const rows = header.split("\n").filter((l) => /^\| \d/.test(l)).map((l) => l.split("|").map((c) => c.trim()).slice(1, 4));
    expect(rows).toEqual([
      ["0", "version", "u8"], ["1", "type", "u8"], ["2", "flags", "u8"], ["3", "seq", "u16"],
      ["5", "src", "u32"], ["9", "mode", "u8"], ["10", "dst", "u32"],
    ]);
    expect(doc).toContain("HEADER (14 bytes)");
    expect(doc).toContain("AUTH TRAILER (12 bytes");
    expect(doc).toContain("**242 bytes**");
    expect(doc).toContain("at most 212 bytes");
    expect(doc).toContain("204 bytes left");
  });

  it("cover every message the issue asks for", () => {
    const names = MESSAGES.map((m) => m.name);
    for (const n of ["READ_REQ", "READINGS", "PROFILE", "IDENTITY", "STATUS", "TIME_SET", "CONFIG_GET", "CONFIG_SET", "GROUP_SET", "REBOOT", "ERROR",
      "DISCOVER", "DISCOVER_REPLY", "UPDATE_SELECT", "UPDATE_CONTROL", "DATA_BLOCK", "STATUS_QUERY", "STATUS_REPORT", "DOWNLOAD_COMPLETE",
      "ACTIVATE", "ABORT", "CONFIRM", "UPDATE_RESULT", "VERSION_READ", "VERSION", "REPAIR_BLOCK", "GROUP_QUERY", "DEFICIT", "SELECT_LIST", "AUTHORIZE_LIST"]) expect(names).toContain(n);
  });
});

describe("catalogue names and layouts", () => {
  it("every type code with a layout has a name and every name a layout; other codes have none", async () => {
    const { layoutOf, NAMES } = await import("../../../firmware/protocol/catalogue");
    const withLayout: number[] = [];
    for (let t = 0; t < 256; t++) if (layoutOf(t) !== null) withLayout.push(t);
    expect(withLayout).toEqual(Object.keys(NAMES).map(Number).sort((a, b) => a - b));
    expect(withLayout.length).toBe(38);
    expect(layoutOf(0x42)).toBe("imageId:H index:H data:R");
    expect(layoutOf(0x20)).toBe(""); // IDENTIFY: an empty body, not an unknown type
    expect(layoutOf(0x99)).toBeNull();
  });
});
