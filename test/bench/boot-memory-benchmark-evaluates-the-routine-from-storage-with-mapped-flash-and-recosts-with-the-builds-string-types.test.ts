import { describe, expect, it } from "vitest";
import { parse } from "acorn";
import {
  BOOT_FILE, bootFigures, bootHooks, bootPeaks, bootPlan, dumpOf, HOOK_FILE, mappedRoutine, storageDataAt, WINDOW_FILE,
} from "../../bench/boot-memory";
import { handoverStub } from "../../tools/flash/plan";
import { recostDump, stringBase } from "../../bench/memory";

const js = (s: string) => parse(s, { ecmaVersion: 5 });

describe("npm run bench:boot-memory, its host side", () => {
  it("moves the boot stub to the top and evaluates the routine from Storage after the hooks, the flash window the last Storage file, without load()", () => {
    const plan = ['// plan', 'var F=require("Flash");', "F.erasePage(0x10018000);", 'F.write(atob("AAAA"),0x10018000);', 'require("Storage").write(".boot0","eval(E.toString(require(\\"Flash\\").read(7,0x10018000)))");', 'print("meterline: provisioned meter 1");', "load();", ""].join("\n");
    const out = bootPlan(plan, "var boot=1;", "var bmX=1;").split("\n");
    expect(out.slice(0, 2)).toEqual(["// plan", 'var F=require("Flash");']);
    const stub = JSON.parse(/^require\("Storage"\)\.write\("\.boot0",(.*)\);$/.exec(out[2])![1]) as string;
    expect(stub).toBe(`var bmU0=process.memory().usage;eval(require("Storage").read("${HOOK_FILE}"));` + handoverStub(`eval(require("Storage").read("${BOOT_FILE}"))`));
    expect(out[3]).toBe(`require("Storage").write("${BOOT_FILE}","var boot=1;");`);
    expect(out[4]).toBe(`require("Storage").write("${HOOK_FILE}","var bmX=1;");`);
    expect(out[5]).toContain(`require("Storage").write("${WINDOW_FILE}",`);
    expect(out.slice(6, 8)).toEqual(["F.erasePage(0x10018000);", 'F.write(atob("AAAA"),0x10018000);']);
    expect(out).not.toContain("load();");
    expect(out.filter((l) => l.includes('".boot0"'))).toHaveLength(1);
    expect(out.at(-2)).toBe('print("ML-PROVISIONED");');
    js(out.join("\n"));
    expect(() => bootPlan("var F=require(\"Flash\");\n", "", "")).toThrow(/no \.boot0/);
  });

  it("gives the LINUX routine the Original's mapped(): E.memoryArea in place of null, and refuses a bundle where it is not found once", () => {
    const linux = 'x=function(){var r=require("Flash");return{read:function(n,t){return r.read(t,n)},c:function(r,n){return null}}}();';
    expect(mappedRoutine(linux)).toBe('x=function(){var r=require("Flash");return{read:function(n,t){return r.read(t,n)},c:function(r,n){return E.memoryArea(r,n)}}}();');
    expect(() => mappedRoutine("c:function(r,n){return E.memoryArea(r,n)}")).toThrow(/0 functions/);
    expect(() => mappedRoutine("a:function(r,n){return null},b:function(t,u){return null}")).toThrow(/2 functions/);
  });

  it("finds where a Storage file's data starts: after its 32-byte header (size, name)", () => {
    const flash = new Uint8Array(256).fill(0xff);
    const put = (o: number, name: string) => { flash.set([5, 0, 0, 0], o); flash.set(Buffer.from(name + "\0".repeat(28 - name.length), "latin1"), o + 4); };
    put(0, ".boot0");
    put(64, WINDOW_FILE);
    expect(storageDataAt(flash, 0x10000000, WINDOW_FILE)).toBe(0x10000000 + 64 + 32);
    expect(storageDataAt(flash, 0x10000000, "mlnone")).toBe(-1);
  });

  it("makes hooks that parse as ES5 and carry the probe, the journal's bounds and the end tags (DONE, FAILED, REVERTED)", () => {
    const h = bootHooks(0x1001b800, 0x1001a800, 1024);
    js(h);
    expect(h).toContain(`bmF.read(4,${0x1001b800})`);
    expect(h).toContain(`a>=${0x1001a800}&&a<${0x1001a800 + 1024}`);
    expect(h).toContain("bmT=[48,64,176]");
    expect(h).toContain(`require("Storage").read("${WINDOW_FILE}",a-bmFa,n)`);
  });

  it("reads the figures and the dump a boot prints, and takes the hooks' variables off the peaks", () => {
    const text = 'noise\r\nML-DUMP\r\n1,1,1,Object,\r\nML-DUMPEND\r\nML-BOOT {"n":10,"pk":[740,735,7,3],"ov":[13,14],"base":190,"u0":90,"tag":48}\r\n';
    const f = bootFigures(text)!;
    expect(f.pk).toEqual([740, 735, 7, 3]);
    expect(dumpOf(text)).toBe("1,1,1,Object,\r\n");
    expect(bootFigures("nothing")).toBeNull();
    // 100 hook variables; the dump at the peak: 749 here (the hooks' 14 per call too), 800 on the Original
    expect(bootPeaks(f, 749, 800)).toEqual({ hooks: 100, live: 635, withGarbage: 640, original: 800 - (749 - 635) });
    expect(bootPeaks(f).original).toBeUndefined();
  });

  it("takes the build's string types from its dump and re-costs names, strings and flat strings with them", () => {
    // 2v29 Linux, VARIABLES=2756: String "" 37, a 6-character string 43, names below 37, the flat string 50
    const dump = [
      "ref,size,flags,name,links...",
      "1,1,1,Object,2,",
      '2,1,36,"Function",3,', // an 8-character name: 2 blocks on the Original (4 + 9)
      '3,2,36,"prototype",4,', // 9 characters: 2 on the Original
      '4,1,32,"addr",5,', // 4 characters: 1
      "5,1,10,Number 5,",
      '12,1,26,"interval",', // an 8-character name with its int value in place: 2 on the Original
      '13,1,15,"12",', // an index: 1
      '6,1,37,String "",',
      '7,1,43,String ".boot0",',
      '8,1,49,String "abcdefghijkl",', // 12 characters in one block here: 2 on the Original (8 + 9)
      '9,2,40,String "abcdefghijklmno...",', // 2 blocks: up to 25 characters, 3 on the Original
      '10,16,50,String "\\0\\0\\0...",', // flat: 15 blocks of 17 bytes, 20 of 13 on the Original
      '11,1,53,String "r[4]",', // a native string in flash: one block on both
      "END",
    ].join("\n");
    expect(stringBase(dump)).toBe(37);
    expect(recostDump(dump, 37)).toEqual({ here: 1 + 1 + 2 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 2 + 16 + 1, original: 1 + 2 + 2 + 1 + 1 + 2 + 1 + 1 + 1 + 2 + 3 + (1 + Math.ceil((15 * 17) / 13)) + 1 });
    // a dump with String "" at 36 (bench:memory's ranges)
    expect(stringBase('6,1,36,String "",\n7,1,42,String ".boot0",\n8,1,53,String "r[4]",')).toBe(36);
    // native strings in flash (one block whatever their length: flags 53 here) outnumbering the
    // one-block strings: a meter whose functions are evaluated from Storage has many one-letter
    // ones (each a vote for 52 when counted), and a flags value seen with two lengths is no string length
    const natives = ["0", "k", "w", "i", "r", "n", "e", "t", "u", "a", "o", "f", "c", "r.h?0:r.end-r.k"].map((t, i) => `${20 + i},1,53,String "${t}",`);
    expect(stringBase(['6,1,37,String "",', '7,1,42,String "LINUX",', '8,1,47,String "/dev/ttyS1",', ...natives].join("\n"))).toBe(37);
  });
});
