import { describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPort, type Port } from "../../bench/hil";
import { encodeFrame, st7580Framer } from "../../firmware/link/st7580/frame";

/**
 * npm run line (tools/line/line.ts) as the walkthrough runs it (docs/walkthrough.md): each
 * board's modem UART one end of a socat pair, the tool holding the other ends. A "board" here
 * is the test speaking the ST7580 host interface on its end: it puts its modem in data-link
 * mode (MIB 0x00 = 0x11), sends a DL_DATA_REQ, and the other boards get it as a DL_DATA_IND;
 * SIGTERM prints the counters and exits 0.
 */
const haveSocat = spawnSync("socat", ["-V"]).status === 0;

const MIB_WRITE_REQ = 0x08, MIB_WRITE_CNF = 0x09, DL_DATA_REQ = 0x50, DL_DATA_CNF = 0x51, DL_DATA_IND = 0x52;

async function ptyPair(dir: string, name: string): Promise<{ board: string; line: string; socat: ChildProcess }> {
  const board = join(dir, `${name}-board`), line = join(dir, `${name}-line`);
  const socat = spawn("socat", [`pty,raw,echo=0,link=${board}`, `pty,raw,echo=0,link=${line}`], { stdio: "ignore" });
  for (let i = 0; i < 250 && !(existsSync(board) && existsSync(line)); i++) await new Promise((r) => setTimeout(r, 20));
  return { board, line, socat };
}

/** A board's side of the ST7580 host interface: acknowledges each frame from the modem and keeps it. */
function hostSide(port: Port) {
  const frames: { cmd: number; data: number[] }[] = [];
  const framer = st7580Framer((ev, cmd, len, arg) => {
    if (ev !== 1) return; // StEv.FRAME
    frames.push({ cmd, data: [...framer.data.subarray(arg, arg + len)] });
    port.write(Buffer.from([0x06]));
  });
  port.onData((b) => framer.feed(Buffer.from(b).toString("latin1"), Date.now()));
  const send = (cmd: number, data: number[]) => {
    const out = new Uint8Array(data.length + 5);
    encodeFrame(cmd, Uint8Array.from(data), out);
    port.write(out);
  };
  const waitFor = async (cmd: number, ms = 5000) => {
    for (const t0 = Date.now(); Date.now() - t0 < ms; await new Promise((r) => setTimeout(r, 20))) {
      const f = frames.find((x) => x.cmd === cmd);
      if (f) return f;
    }
    throw new Error(`no frame 0x${cmd.toString(16)} within ${ms} ms (got ${frames.map((f) => f.cmd.toString(16)).join(",")})`);
  };
  return { frames, send, waitFor };
}

describe("npm run line: boards on pseudo-terminals on one simulated line", () => {
  it.runIf(haveSocat || process.env.CI)("a frame one board sends reaches the others as a data indication; SIGTERM prints the counters and exits 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "line-"));
    const pairs = [await ptyPair(dir, "conc"), await ptyPair(dir, "m1"), await ptyPair(dir, "m2")];
    const tool = spawn(process.execPath, ["--import", "tsx", "tools/line/line.ts", "--node", `conc=${pairs[0].line}`, "--node", `m1=${pairs[1].line}`, "--node", `m2=${pairs[2].line}`, "--every", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    tool.stdout!.on("data", (d) => { out += d; });
    tool.stderr!.on("data", (d) => { err += d; });
    const ports: Port[] = [];
    try {
      for (let i = 0; i < 300 && !/Ctrl-C to stop/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
      expect(out, err).toMatch(/line: 3 nodes on one ST7580 line, 9600 bit\/s, 0% of frames lost; Ctrl-C to stop/);
      const hosts = [];
      for (const p of pairs) { const port = await openPort(p.board); ports.push(port); hosts.push(hostSide(port)); }
      for (const h of hosts) { h.send(MIB_WRITE_REQ, [0x00, 0x11]); await h.waitFor(MIB_WRITE_CNF); }
      const payload = [0x4d, 0x4c, 1, 2, 3, 4, 5];
      hosts[0].send(DL_DATA_REQ, [0x04, ...payload]);
      await hosts[0].waitFor(DL_DATA_CNF);
      for (const h of hosts.slice(1)) expect((await h.waitFor(DL_DATA_IND)).data.slice(4)).toEqual(payload);
      expect(hosts[0].frames.some((f) => f.cmd === DL_DATA_IND)).toBe(false); // half duplex: not its own frame
      tool.kill("SIGTERM");
      const code = await new Promise<number | null>((r) => tool.on("exit", (c) => r(c)));
      expect(code, err).toBe(0);
      expect(out).toMatch(/line: conc: sent 1 frames \([\d.]+ s on air\), received 0/);
      expect(out).toMatch(/line: m1: sent 0 frames \(0\.0 s on air\), received 1/);
      expect(out).toMatch(/line: SIGTERM: stopping/);
      expect(err).toBe("");
    } finally {
      for (const p of ports) p.close();
      if (tool.exitCode === null) tool.kill("SIGKILL");
      for (const p of pairs) p.socat.kill();
    }
  }, 60_000);

  it("a node that is not NAME=PATH, or a name given twice, is a usage error (exit 2); a device that cannot be opened exits 1 naming it", () => {
    const run = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "tools/line/line.ts", ...args], { encoding: "utf8" });
    const a = run(["--node", "/tmp/x"]);
    expect(a.status).toBe(2);
    expect(a.stderr.trim()).toMatch(/^line: --node must be NAME=PATH/);
    const b = run(["--node", "a=/tmp/x", "--node", "a=/tmp/y"]);
    expect(b.status).toBe(2);
    expect(b.stderr.trim()).toBe('line: --node: the name "a" is given twice');
    const c = run(["--node", "a=/nonexistent/modem"]);
    expect(c.status).toBe(1);
    expect(c.stderr.trim()).toBe("line: /nonexistent/modem: cannot open it (ENOENT)");
  }, 60_000);
});
