import { describe, expect, it } from "vitest";
import { MockStorage } from "../../../hal/mock/storage";
import { registry, type Registry } from "../../../firmware/concentrator/registry";
import { meterFile, METER_FILES } from "../../../firmware/concentrator/meter-file";

const view = (r: Registry) => Array.from({ length: r.count() }, (_, i) => [r.id(i), r.flags(i), r.kind(i), r.version(i), r.board(i), r.group(i)].join(","));

function load(text: string): string[] {
  const st = new MockStorage();
  st.files.set(METER_FILES[0], text);
  const reg = registry(8);
  meterFile(st, reg);
  return view(reg);
}

describe("the registry file (found by npm run fuzz, target meter-file)", () => {
  it("a change torn by a power cut at any byte of its line loads as before or after it, never as a shorter number", () => {
    const st = new MockStorage();
    let kept: ReturnType<typeof meterFile> | undefined;
    const reg = registry(8, (i) => kept?.changed(i));
    kept = meterFile(st, reg);
    reg.add(5, 1);
    reg.setInfo(0, 1, 4242);
    const before = st.files.get(METER_FILES[0])!;
    reg.setGroup(0, 123456);
    const after = st.files.get(METER_FILES[0])!;
    expect(after.length).toBeGreaterThan(before.length);
    for (let n = before.length; n <= after.length; n++) {
      const got = load(after.slice(0, n));
      // before this fix "\n5,1,1,4242,0,12" (the change torn two bytes short, without its profile mark field then) loaded group 12
      expect([["5,1,1,4242,0,0"], ["5,1,1,4242,0,123456"]], `torn after ${n - before.length} bytes`).toContainEqual(got);
    }
  });

  it("a line whose numbers do not fit the registry's fields (or are not whole) is skipped, not stored cut to fit", () => {
    const text = ["", "g1", "5,1,0,0,0,0,0;", "5,1,300,0,0,0,0;", "5,256,0,0,0,0,0;", "5,1,0,0,70000,0,0;", "5,1,0,0,0,4294967296,0;", "5,1,0,-1,0,0,0;", "5,1,0,1.5,0,0,0;", "5,1,0,0,0,0,4294967296;", "6,1,0,4294967295,65535,4294967295,7;", "e"].join("\n");
    expect(load(text)).toEqual(["5,1,0,0,0,0", "6,1,0,4294967295,65535,4294967295"]);
  });
});
