import { describe, expect, it } from "vitest";
import { createServer } from "node:net";
import { openPort, HilError } from "../../bench/hil";

describe("ports for boards in the loop", () => {
  it("tcp://host:port carries bytes both ways and counts them", async () => {
    const server = createServer((s) => s.on("data", (d) => s.write(Buffer.from([...d].map((x) => x ^ 0xff)))));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    const p = await openPort(`tcp://127.0.0.1:${port}`);
    const got: number[] = [];
    p.onData((b) => got.push(...b));
    p.write(Uint8Array.of(0x00, 0x0a, 0x0d, 0xff));
    for (let i = 0; i < 100 && got.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual([0xff, 0xf5, 0xf2, 0x00]);
    expect(p.counts).toEqual({ rx: 4, tx: 4 });
    p.close();
    server.close();
  });

  it("a path that is not there, a file that is not a terminal, and a refused connection each give a clear error", async () => {
    await expect(openPort("/dev/no-such-adapter")).rejects.toThrow(new HilError("/dev/no-such-adapter: cannot open it (ENOENT)"));
    await expect(openPort("package.json")).rejects.toThrow(/^package.json: not a serial device/);
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    server.close();
    await new Promise((r) => setTimeout(r, 50));
    await expect(openPort(`tcp://127.0.0.1:${port}`)).rejects.toThrow(/ECONNREFUSED/);
  });
});
