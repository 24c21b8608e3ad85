/*
 * The Espruino Original keeps at most 8 repair blocks (its profile's repairRows: a block
 * buffer each in RAM while it decodes). On a lossy line its deficit after the first pass
 * is larger than that: it must still finish, by being served the blocks it misses plainly
 * (a straggler) until what it holds and the repair blocks it kept decode the rest. Real
 * meter programs on the Original's flash geometry, the real concentrator, its console.
 */
import { describe, expect, it } from "vitest";
import { T } from "../../firmware/protocol/catalogue";
import { LinkRig, bootConcentrator, bootMeter, lineFor } from "../../bench/rig";
import { makeProgramImage } from "../harness/scripted-concentrator";
import { consoleApi } from "../../firmware/concentrator/console";
import { hostNative, latin1 } from "../../hal/mock/native";
import { loadProfile } from "../../tools/profiles/profiles";
import { bufferLayout } from "../../firmware/common/update-image";

describe("a coded campaign to Original meters", () => {
  it("finishes meters whose deficit exceeds their 8 repair slots: plain blocks for the rest, then a decode", () => {
    const original = loadProfile("ESPRUINOBOARD");
    expect(original.repairRows).toBe(8);
    const rig = new LinkRig("st7580", lineFor("st7580", 21, { defaults: { loss: 0.12 } }));
    const ids = [801, 802, 803];
    for (const id of ids) bootMeter(rig, `m${id}`, id, { board: "ESPRUINOBOARD", version: 1, autoRestart: true });
    const conc = bootConcentrator(rig, "conc", ids);
    rig.clock.advance(3000);
    const out: string[] = [];
    const img = makeProgramImage(2, 28000, 200, { imageId: 61, board: original.code });
    const k = img.session.blockCount;
    // its buffer holds the image and more spare slots than it has rows: the rows are the limit
    const l = bufferLayout(original.regions.buffer!.addr, original.regions.buffer!.size, 2048, 200);
    expect(l.capacity - k).toBeGreaterThan(8);
    const ml = consoleApi(conc.ctx, hostNative, 1, () => latin1(img.bytes), (x) => out.push(x), { bitRate: 9600, frameOverhead: 16, hostBaud: 57600 });
    // the concentrator's STATUS_QUERYs before the read-back, by the meter they were addressed to
    const asked: number[] = [], ep = conc.ctx.endpoint as any, send0 = ep.send;
    ep.send = function (m: any, ...rest: unknown[]) { if (m.type === T.STATUS_QUERY && conc.ctx.campaign()?.phase() !== 6 /* Ph.READBACK */) asked.push(m.dst); return send0.call(ep, m, ...rest); };
    expect(ml.update("img.bin", { imageId: 61, version: 2, board: original.code, loss: 0.12 })).toBe(0);
    // until the activation: what each meter's receiver did
    const stats = new Map<number, { repairs: number; useless: number; decodes: number }>();
    const end = rig.clock.now() + 3_600_000;
    while (!out.some((x) => x.startsWith("meterline: campaign 61 ended")) && rig.clock.now() < end) {
      rig.clock.advance(200);
      for (const id of ids) {
        const r = rig.meters.get(id)!.meter.receiver;
        if (r.session()) stats.set(id, { repairs: r.stats.repairs, useless: r.stats.useless, decodes: r.stats.decodes });
      }
    }
    expect(out[out.length - 1]).toBe("meterline: campaign 61 ended: every meter done");
    for (const id of ids) {
      const node = rig.meters.get(id)!;
      expect(node.flash.read(node.board.regions.app!.addr + 12, 1)[0], `meter ${id} runs v2`).toBe(2);
    }
    const s = [...stats.values()];
    // every meter kept no more repair blocks than its rows, and at least one had to drop
    // further ones for want of room (a straggler), then decoded with what it kept
    expect(s.every((x) => x.repairs <= 8)).toBe(true);
    expect(s.some((x) => x.repairs === 8 && x.useless > 0 && x.decodes >= 1)).toBe(true);
    // stragglers were asked on their own for the blocks they miss (the patent's report): the
    // meters that dropped repair blocks for want of room were addressed before the activation
    const stragglers = ids.filter((id) => { const x = stats.get(id); return !!x && x.repairs === 8 && x.useless > 0; });
    expect(stragglers.length).toBeGreaterThan(0);
    for (const id of stragglers) expect(asked, `straggler ${id} asked on its own`).toContain(id);
  }, 120_000);
});
