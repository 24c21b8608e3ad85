/*
 * A modem straight on the simulated power line, for large host simulations: the frame
 * goes on the line as the ST7580 or transparent modem would put it (same airtime, same
 * loss model), without simulating the UART link between the host and its modem. The
 * scenario bench (npm start) keeps the real drivers; the benchmark uses this to simulate
 * thousands of meters.
 */
import type { VirtualClock } from "../hal/mock/clock";
import type { LineNode, PowerLine } from "../hal/mock/powerline";
import { Err } from "../firmware/common/errors";
import { P } from "../firmware/protocol/catalogue";
import { newStats, type Modem, type ModemEvents } from "../firmware/link/modem";

export interface LineModem extends Modem { node: LineNode }

/** `processMs`: the modem's own delay between a send request and the frame on the line. */
export function lineModem(line: PowerLine, clock: VirtualClock, name: string, events: ModemEvents, processMs = 5): LineModem {
  let ready = false, sending = false;
  const stats = newStats();
  const node = line.attach(name, (bytes, snr, corrupted) => {
    if (!ready) return;
    if (corrupted) { stats.rxBad++; return; }
    stats.rxFrames++;
    events.received(bytes, bytes.length, Math.min(255, snr * 4));
  });
  return {
    node,
    maxPayload: P.MAX_FRAME,
    stats,
    start() { clock.setTimeout(() => { ready = true; events.ready(0); }, 1); },
    busy() { return sending || !ready; },
    send(frame, len) {
      if (!ready || sending) return Err.LINK_NOT_READY;
      if (len < 1 || len > P.MAX_FRAME) return Err.LINK_FRAME_SIZE;
      sending = true;
      const bytes = frame.slice(0, len);
      clock.setTimeout(() => {
        const air = node.transmit(bytes);
        stats.txFrames++;
        clock.setTimeout(() => { sending = false; events.sent(0); }, air);
      }, processMs);
      return 0;
    },
  };
}

/** The unicast destination of a frame (header: version, type, flags, seq, src, mode, dst), for PowerLine's route option. */
export function unicastDestination(bytes: Uint8Array): number {
  if (bytes.length < P.HEADER || bytes[9] !== P.TO_METER) return -1;
  return (bytes[10] | (bytes[11] << 8) | (bytes[12] << 16) | (bytes[13] << 24)) >>> 0;
}
