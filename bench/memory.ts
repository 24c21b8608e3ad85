/*
 * npm run bench:memory -- --espruino PATH [--provision-with PATH] [--id N]
 *
 * The meter program's variables on the real interpreter (an Espruino Linux build), with
 * its program text left in flash as on a board that maps flash: the shipped LINUX meter
 * bundle (it carries the authentication code, so it is the larger program) goes into a
 * Storage file, which the interpreter reads in place, and Storage .boot0 evaluates it at
 * global scope as the boot stub does. Three runs on copies of one provisioned flash:
 *   rest      process.memory() 3 s after power-on
 *   download  the administration and reading requests, then an update control, 86 of
 *             100 blocks, a status query, the 14 missing blocks and a status query,
 *             delivered to the meter's endpoint one frame at a time; the usage after each,
 *             with and without a garbage collection. A stand-in modem prints what the
 *             meter answers, and the host decodes and checks every reply (REPLIES)
 *   layout    E.dumpVariables() at rest, each name and string re-costed for the Original's
 *             variables (32-bit: 4 characters in a name's first block, 8 in a string's,
 *             9 in each extension; 13-byte blocks for flat strings)
 *
 * Build the measured interpreter with VARIABLES=2756 (the Original's count) and it runs
 * out of memory where the Original would. Such a build cannot evaluate the provisioning
 * file in one go (as the espruino CLI would send it line by line): --provision-with names
 * a build with more variables for that step (by default the same one). docs/meter.md.
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { provisioningPlan } from "../tools/flash/plan";
import { loadProfile } from "../tools/profiles/profiles";
import { decodeMsg, encodeMsg, newMsg, setMsg } from "../firmware/protocol/codec";
import { hostNative, hostNativeNoSha } from "../hal/mock/native";
import { blockOf, imageOf } from "./image";

const CONC = 0xffffffff;

/** Replies the meter must give to downloadFrames(), in order: [type, code of an ERROR]. */
export const REPLIES: [number, number?][] = [
  [0x23], [0x21], [0x11], [0x12], [0x2a], [0x26], [0x2a], [0x2a], [0x4b], [0x2b, 80], // STATUS ... an image for another board
  [0x2a], [0x44], [0x45], [0x4b],
];

/**
 * Frames for meter `id`, each with a one-byte length in front: the administration and
 * reading requests, a refused control (another board), then a whole download: control,
 * 86 blocks, status query, the 14 missing blocks, status query, version read.
 */
export function downloadFrames(id: number, board: number, sha: boolean): Buffer {
  const bytes = new Uint8Array(20000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + 3) & 0xff;
  const img = imageOf(bytes, { imageId: 77, version: 2, board, blockSize: 200 }, sha ? hostNative : hostNativeNoSha);
  const s = img.session;
  const out: Buffer[] = [];
  let seq = 1;
  const add = (type: number, mode: number, body: object) => {
    const b = new Uint8Array(242);
    const n = encodeMsg(setMsg(newMsg(), type, seq++, CONC, mode, mode === 0 ? id : CONC, body), b);
    if (n <= 0) throw new Error(`bench:memory: cannot encode message 0x${type.toString(16)} (E${-n})`);
    out.push(Buffer.from([n]), Buffer.from(b.subarray(0, n)));
  };
  const any = new Uint8Array([255, 255, 255, 255, 255, 255]);
  add(0x22, 0, {}); // STATUS_REQ
  add(0x20, 0, {}); // IDENTIFY
  add(0x10, 0, { what: 1, obis: any, from: 0, count: 0 }); // registers
  add(0x10, 0, { what: 2, obis: any, from: 0, count: 4 }); // profile
  add(0x24, 0, { time: 1795000000 }); // TIME_SET
  add(0x25, 0, { key: 1 }); // CONFIG_GET constant
  add(0x27, 0, { key: 3, value: new Uint8Array([40, 0]) }); // CONFIG_SET save every 40 pulses
  add(0x28, 0, { op: 1, group: 12 }); // GROUP_SET join 12
  add(0x4a, 0, {}); // VERSION_READ
  const control = { ...s, start: 1 };
  add(0x41, 0, { ...control, board: board + 1 }); // another board: refused with 80
  const block = (i: number) => add(0x42, 2, { imageId: 77, index: i, data: blockOf(img, i) });
  add(0x41, 0, control);
  for (let i = 0; i < 100; i++) if (i % 7 !== 3) block(i);
  add(0x43, 0, { imageId: 77 });
  for (let i = 0; i < 100; i++) if (i % 7 === 3) block(i);
  add(0x43, 0, { imageId: 77 });
  add(0x4a, 0, {});
  return Buffer.concat(out);
}

/** Checks the replies printed by the drive run (base64 frames) against REPLIES; problems as text. */
export function checkReplies(frames: Uint8Array[]): string[] {
  const problems: string[] = [];
  const got = frames.map((f) => { const m = newMsg(); const e = decodeMsg(f, f.length, m); return e ? null : m; });
  if (got.length !== REPLIES.length) problems.push(`${got.length} replies, expected ${REPLIES.length}`);
  REPLIES.forEach(([type, code], i) => {
    const m = got[i];
    if (!m) { problems.push(`reply ${i + 1}: ${i < got.length ? "does not decode" : "missing"}`); return; }
    if (m.type !== type || (code !== undefined && m.body.code !== code)) problems.push(`reply ${i + 1}: 0x${m.type.toString(16)}${m.body.code !== undefined ? ` E${m.body.code}` : ""}, expected 0x${type.toString(16)}${code !== undefined ? ` E${code}` : ""}`);
  });
  return problems;
}

/** Runs the interpreter on `file` in `dir` (its flash is dir/espruino.flash) until `marker` is printed. */
function runEspruino(bin: string, dir: string, file: string, marker: string, timeoutMs: number): Promise<string> {
  return new Promise((res, rej) => {
    // stdin stays open and idle: at end of file the interpreter stops taking input
    const p = spawn(bin, [file], { cwd: dir, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    const done = (err?: Error) => { clearTimeout(t); p.kill("SIGKILL"); if (err) rej(err); else res(out); };
    const t = setTimeout(() => done(new Error(`bench:memory: ${bin} did not print ${marker} within ${timeoutMs / 1000} s; its output ends:\n${out.slice(-600)}`)), timeoutMs);
    p.stdout.on("data", (d) => { out += d.toString("latin1"); if (out.includes(marker)) setTimeout(() => done(), 50); });
    p.on("error", (e) => done(new Error(`bench:memory: cannot run ${bin}: ${e.message}`)));
  });
}

/** Variables of a dump (E.dumpVariables) at this build's sizes, and re-costed for the Original's. */
export function originalCost(dump: string): { here: number; original: number } {
  let here = 0, original = 0;
  const lines = dump.split(/\r?\n/);
  for (const l of lines) {
    const m = /^(\d+),(\d+),(\d+),("(?:[^"\\]|\\.)*"|String "(?:[^"\\]|\\.)*"|[^,]*),/.exec(l);
    if (!m) continue;
    const size = Number(m[2]), flags = Number(m[3]);
    const text = m[4].replace(/^String /, "").replace(/^"|"$/g, "").replace(/\\x[0-9A-Fa-f]{2}/g, "X").replace(/\\(.)/g, "$1");
    here += size;
    // 2v29 variable types on a 64-bit build with 12-bit references (src/jsvar.h):
    // 15..35 names, 36..48 strings, 49 flat strings
    if (flags >= 15 && flags <= 35) original += 1 + (flags >= 18 && text.length > 4 ? Math.ceil((text.length - 4) / 9) : 0);
    else if (flags >= 36 && flags <= 48) { const len = 12 + (size - 1) * 13; original += 1 + Math.max(0, Math.ceil((len - 8) / 9)); }
    else if (flags === 49) original += 1 + Math.ceil(((size - 1) * 17) / 13);
    else original += size;
  }
  return { here, original };
}

const DRIVE = `
var St=require("Storage"),fo=0,fn=0,live=0,raw=0,base=0,total=St.read("mlfr").length;
var iv=setInterval(function(){
  if(!global.meterline)return;
  if(!base){
    // a stand-in modem: each reply is printed for the host to check
    meterline.endpoint.attach({maxPayload:242,stats:{},start:function(){},busy:function(){return false;},
      send:function(f,l){print("ML-TX "+btoa(E.toString(f.subarray(0,l))));setTimeout(function(){meterline.endpoint.events.sent(0);},1);return 0;}});
    // the board's own driver still runs on a port with no modem: its failures must not
    // take the stand-in down (the endpoint keeps one events object for both)
    var ev=meterline.endpoint.events,ready=ev.ready;ev.ready=function(){ready(0);};
    ev.ready(0);
    base=process.memory().usage;
  }
  if(fo>=total){clearInterval(iv);setTimeout(function(){print("ML-DRIVE "+fn+" "+base+" "+live+" "+raw+" "+meterline.receiver.state()+" "+E.getErrorFlags());},50);return;}
  var n=St.read("mlfr",fo,1).charCodeAt(0),s=St.read("mlfr",fo+1,n),d=new Uint8Array(n);
  for(var i=0;i<n;i++)d[i]=s.charCodeAt(i);
  s=0;fo+=1+n;fn++;
  try{meterline.endpoint.events.received(d,n,200);}catch(e){print("ML-THREW "+fn+" "+e);}
  d=0;
  var r=process.memory(false).usage;if(r>raw)raw=r;
  var m=process.memory().usage;if(m>live)live=m;
},100);
`;

async function main(argv: string[]): Promise<void> {
  let bin = process.env.ESPRUINO ?? "", provision = "", id = 3002;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--espruino") bin = argv[++i] ?? "";
    else if (argv[i] === "--provision-with") provision = argv[++i] ?? "";
    else if (argv[i] === "--id") id = Number(argv[++i]);
    else throw new Error(`bench:memory: unknown option ${argv[i]} (usage: npm run bench:memory -- --espruino PATH [--provision-with PATH] [--id N])`);
  }
  if (!bin) throw new Error("bench:memory: --espruino PATH is required: an Espruino Linux build (see docs/meter.md, Memory)");
  bin = resolve(bin);
  provision = resolve(provision || bin);
  for (const b of [bin, provision]) if (!existsSync(b)) throw new Error(`bench:memory: no interpreter at ${b}`);
  if (!existsSync("dist/LINUX/meter.js")) throw new Error("bench:memory: no dist/LINUX/meter.js: run npm run build first");
  const p = loadProfile("LINUX");
  const program = readFileSync("dist/LINUX/meter.js", "latin1").replace(/\n\/\/# sourceMappingURL=.*\s*$/, "");
  const frames = downloadFrames(id, p.code, p.crypto.includes("SHA256"));
  const dir = mkdtempSync(join(tmpdir(), "ml-memory-"));
  let plan = provisioningPlan({ board: "LINUX", role: "meter", id });
  plan = plan.replace(/^require\("Storage"\)\.write\("\.boot0".*$/m, `require("Storage").write(".boot0",${JSON.stringify('eval(require("Storage").read("mtext"))')});`);
  plan = plan.replace(/^load\(\);$/m, "");
  plan += `require("Storage").write("mtext",${JSON.stringify(program)});\n`;
  plan += `require("Storage").write("mlfr",atob(${JSON.stringify(frames.toString("base64"))}));\nprint("ML-PROVISIONED");\n`;
  writeFileSync(join(dir, "plan.js"), plan);
  await runEspruino(provision, dir, "plan.js", "ML-PROVISIONED", 20000);
  const run = async (name: string, script: string, marker: string, ms: number) => {
    const d = mkdtempSync(join(dir, `${name}-`));
    copyFileSync(join(dir, "espruino.flash"), join(d, "espruino.flash"));
    writeFileSync(join(d, "run.js"), script);
    return runEspruino(bin, d, "run.js", marker, ms);
  };
  const rest = await run("rest", `setTimeout(function(){var m=process.memory();print("ML-REST "+m.usage+" "+m.total+" "+m.blocksize+" "+(global.meterline?meterline.lastError():-1)+" "+E.getErrorFlags()+" ML-END");},3000);`, "ML-END", 20000);
  const r = /ML-REST (\d+) (\d+) (\d+) (-?\d+) ?(\S*) ML-END/.exec(rest);
  if (!r) throw new Error(`bench:memory: no figure from the rest run; output ends:\n${rest.slice(-600)}`);
  if (r[4] === "-1") throw new Error(`bench:memory: the meter did not start (${r[5] || "no error flags"}); output ends:\n${rest.slice(-600)}`);
  // the re-costing assumes this build's layout: 64-bit, 12-bit references (VARIABLES 2048..4095), 17-byte blocks
  const recost = r[3] === "17";
  const dump = await run("layout", `setTimeout(function(){print("ML-DUMP");E.dumpVariables();print("ML-END");},3000);`, "ML-END", 30000);
  const cost = originalCost(dump.slice(dump.indexOf("ML-DUMP")));
  const drive = await run("download", DRIVE, "ML-DRIVE", 120000);
  const dv = /ML-DRIVE (\d+) (\d+) (\d+) (\d+) (\d+) ?(\S*)/.exec(drive);
  if (!dv) throw new Error(`bench:memory: no figure from the download run; output ends:\n${drive.slice(-600)}`);
  const threw = /ML-THREW .*/.exec(drive);
  const replies = [...drive.matchAll(/ML-TX (\S+)/g)].map((x) => new Uint8Array(Buffer.from(x[1], "base64")));
  const wrong = checkReplies(replies);
  const [total, usage] = [Number(r[2]), Number(r[1])];
  const [base, live, raw, state] = [Number(dv[2]), Number(dv[3]), Number(dv[4]), Number(dv[5])];
  const pct = (n: number, of: number) => `${((100 * n) / of).toFixed(0)}%`;
  const original = 2756;
  console.log(`bench:memory: the LINUX meter bundle (${program.length} bytes) on ${bin}, ${total} variables`);
  console.log(`  at rest                      ${usage} variables (${pct(usage, total)})${r[5] ? `, error flags ${r[5]}` : ""}`);
  console.log(`  download, after a collection +${live - base} at most`);
  console.log(`  download, before one         +${raw - base} at most; session ${state === 3 ? "verified" : `state ${state}`} after ${dv[1]} frames${threw ? `; ${threw[0]}` : ""}${dv[6] ? `; error flags ${dv[6]}` : ""}`);
  console.log(`  replies                      ${wrong.length ? `WRONG: ${wrong.join("; ")}` : `all ${replies.length} as expected (administration, readings, a refusal, the download)`}`);
  if (recost) console.log(`  re-costed for the Original   ${cost.original} at rest (this build: ${cost.here}), peak about ${cost.original + raw - base} of ${original} (${pct(cost.original + raw - base, original)})`);
  else console.log(`  re-costed for the Original   needs a build with VARIABLES=2756 (this one has ${r[3]}-byte variables)`);
  if (state !== 3 || threw || dv[6] || wrong.length) process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).catch((e) => { console.error(e instanceof Error ? e.message : String(e)); process.exit(2); });
}
