import { describe, expect, it } from "vitest";
import { LinkRig, bootMeter, lineFor } from "../../bench/rig";
import { CONC, msg, request } from "../harness/scripted-concentrator";
import { encodeMsg } from "../../firmware/protocol/codec";
import { T } from "../../firmware/protocol/catalogue";

const E = { CONFIG_UNKNOWN_KEY: 123, CONFIG_BAD_VALUE: 124, GROUP_FULL: 125, UNSUPPORTED: 122, PROTO_UNKNOWN_TYPE: 61 };
const ALL = new Uint8Array(6).fill(0xff);
const T0 = 1_790_000_200; // a Unix time 100 s after a 15-minute boundary (1,790,000,100)

function setup(kind = 1) {
  const rig = new LinkRig("st7580", lineFor("st7580", 12, { defaults: { loss: 0.05 } }));
  const conc = rig.add("conc", CONC);
  const m = bootMeter(rig, "m", 4001, { kind, version: 3 });
  rig.start();
  return { rig, conc, m };
}

/** `n` pulses spread over `seconds`, at least 50 ms apart (the debounce). */
function pulses(rig: LinkRig, m: ReturnType<typeof bootMeter>, n: number, seconds: number) {
  const step = (seconds * 1000) / n;
  for (let i = 0; i < n; i++) { rig.clock.advance(step); m.pulse.edge(rig.clock.now()); }
}

describe("a meter answering the concentrator", () => {
  it("reports its register and 15-minute profile intervals after pulses", () => {
    const { rig, conc, m } = setup();
    expect(request(rig, conc, msg(T.TIME_SET, { time: T0 }, 4001))?.type).toBe(T.ACK);
    // the meter's clock is T0 plus the few ms since it took the TIME_SET: its next boundary is T0 + 800
    rig.clock.advance(800_010);
    const firstFull = T0 + 800;
    pulses(rig, m, 300, 880);
    rig.clock.advance(30_000);
    pulses(rig, m, 450, 880);
    rig.clock.advance(30_000);
    const r = request(rig, conc, msg(T.READ_REQ, { what: 1, obis: ALL, from: 0, count: 0 }, 4001));
    expect(r?.type).toBe(T.READINGS);
    expect(r?.body.regs).toEqual([{ obis: Uint8Array.of(1, 0, 1, 8, 0, 255), unit: 30, scaler: 0, value: 750, status: 0 }]);
    const p = request(rig, conc, msg(T.READ_REQ, { what: 2, obis: Uint8Array.of(1, 0, 1, 8, 0, 255), from: firstFull, count: 2 }, 4001));
    expect(p?.type).toBe(T.PROFILE);
    expect(p?.body).toMatchObject({ start: firstFull, period: 900, unit: 30 });
    expect(p?.body.slots).toEqual([{ value: 300, status: 0 }, { value: 450, status: 0 }]);
  });

  it("converts pulses with the configured constant, in litres for water", () => {
    const { rig, conc, m } = setup(2);
    expect(request(rig, conc, msg(T.CONFIG_SET, { key: 1, value: Uint8Array.of(0x90, 0x01, 0, 0) }, 4001))?.type).toBe(T.ACK); // 400 imp/m3
    pulses(rig, m, 10, 5);
    const r = request(rig, conc, msg(T.READ_REQ, { what: 1, obis: ALL, from: 0, count: 0 }, 4001));
    // 10 pulses at 400 per m3 = 25 litres
    expect(r?.body.regs[0]).toMatchObject({ obis: Uint8Array.of(8, 0, 1, 0, 0, 255), unit: 13, scaler: -3, value: 25, status: 2 });
  });

  it("tells its identity, status and version", () => {
    const { rig, conc } = setup();
    const id = request(rig, conc, msg(T.IDENTIFY, {}, 4001));
    expect(id?.body).toMatchObject({ kind: 1, board: 1, version: 3, proto: 1, caps: 1, groups: [] }); // caps: its boot routine unpacks
    expect(new TextDecoder().decode(id?.body.hw)).toBe("LINUX");
    const st = request(rig, conc, msg(T.STATUS_REQ, {}, 4001));
    expect(st?.type).toBe(T.STATUS);
    expect(st?.body).toMatchObject({ boots: 1, time: 0, alarms: 1, resetCause: 1, update: 0 });
    expect(st?.body.uptime).toBeGreaterThan(0);
    const v = request(rig, conc, msg(T.VERSION_READ, {}, 4001));
    expect(v?.body).toMatchObject({ version: 3, state: 0 });
  });

  it("sets and reads configuration, refusing unknown keys and bad values without storing anything", () => {
    const { rig, conc, m } = setup();
    expect(request(rig, conc, msg(T.CONFIG_SET, { key: 2, value: Uint8Array.of(0x2c, 0x01) }, 4001))?.type).toBe(T.ACK); // 300 s
    expect([...request(rig, conc, msg(T.CONFIG_GET, { key: 2 }, 4001))!.body.value]).toEqual([0x2c, 0x01]);
    const ops = m.flash.ops;
    expect(request(rig, conc, msg(T.CONFIG_SET, { key: 2, value: Uint8Array.of(7, 0) }, 4001))?.body.code).toBe(E.CONFIG_BAD_VALUE);
    expect(request(rig, conc, msg(T.CONFIG_SET, { key: 1, value: Uint8Array.of(0, 0, 0, 0) }, 4001))?.body.code).toBe(E.CONFIG_BAD_VALUE);
    expect(request(rig, conc, msg(T.CONFIG_SET, { key: 99, value: Uint8Array.of(1) }, 4001))?.body.code).toBe(E.CONFIG_UNKNOWN_KEY);
    expect(request(rig, conc, msg(T.CONFIG_GET, { key: 99 }, 4001))?.body.code).toBe(E.CONFIG_UNKNOWN_KEY);
    expect(m.flash.ops).toBe(ops);
    expect(m.meter.metering.settings.intervalS).toBe(300);
  });

  it("joins and leaves groups, keeps them through a restart, and refuses a fifth", () => {
    const { rig, conc, m } = setup();
    for (const g of [1, 2, 3, 4]) expect(request(rig, conc, msg(T.GROUP_SET, { op: 1, group: g }, 4001))?.type).toBe(T.ACK);
    expect(request(rig, conc, msg(T.GROUP_SET, { op: 1, group: 5 }, 4001))?.body.code).toBe(E.GROUP_FULL);
    expect(request(rig, conc, msg(T.GROUP_SET, { op: 2, group: 2 }, 4001))?.type).toBe(T.ACK);
    m.powerOff();
    const again = bootMeter(rig, "m2", 4001, { flash: m.flash });
    rig.clock.advance(3000);
    expect(again.meter.metering.groups).toEqual([1, 3, 4]);
    expect(again.meter.metering.boots).toBe(2);
  });

  it("answers an unknown or malformed command with an error code and restarts on REBOOT", () => {
    const { rig, conc, m } = setup();
    expect(request(rig, conc, msg(T.READINGS, { time: 0, regs: [] }, 4001))?.body.code).toBe(E.UNSUPPORTED);
    // a TIME_SET with a body one byte short: the header still names the sender
    const bad = msg(T.TIME_SET, { time: 5 }, 4001);
    const frame = new Uint8Array(242);
    const n = encodeMsg(bad, frame);
    let answer: unknown = null;
    expect(conc.modem.send(frame.subarray(0, n - 1), n - 1)).toBe(0);
    const until = rig.clock.now() + 4000;
    while (rig.clock.now() < until && !answer) { rig.clock.advance(20); answer = conc.inbox.find((x) => x.msg.type === T.ERROR && x.msg.body.refSeq === bad.seq); }
    expect((answer as { msg: { body: { code: number } } }).msg.body.code).toBe(3);
    expect(m.meter.metering.wallTime()).toBe(0);
    expect(request(rig, conc, msg(T.REBOOT, { delay: 0 }, 4001))?.type).toBe(T.ACK);
    rig.clock.advance(5000);
    expect(m.system.resets).toBe(1);
  });
});
