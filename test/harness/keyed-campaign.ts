/*
 * A keyed campaign on the simulated line: the real concentrator program holding its meters'
 * link keys, and real keyed meters that restart through the boot routine when they activate.
 * The head-end's tags are made here from the meters' root keys, as `npm run keys -- authorise`
 * makes them. `dropAck(id, deafMs)` drops the first ACK meter `id` gives an addressed ACTIVATE
 * on its way to the concentrator (the meter took it; the concentrator never hears so), and
 * everything else it sends for `deafMs` after it.
 */
import { createHash } from "node:crypto";
import { LinkRig, bootConcentrator, bootMeter, lineFor } from "../../bench/rig";
import { blockOf, programImage } from "../../bench/image";
import { authorisationFor, authorisationRecord, blockKeyFor, concentratorKeyFile, KEY_FORMAT, rootKey, type KeyFile } from "../../tools/keys/keyfile";
import { keyFile as keyFileLookup } from "../../firmware/concentrator/keystore";
import { TAG_INSTALL } from "../../firmware/common/hmac";
import { latin1 } from "../../hal/mock/native";
import { loadProfile } from "../../tools/profiles/profiles";
import { answerTimeMs, type Campaign } from "../../firmware/concentrator/campaign";
import { P, T } from "../../firmware/protocol/catalogue";
import { decodeMsg, newMsg } from "../../firmware/protocol/codec";
import { bodyOf, typed } from "../../tools/protocol/typed";

const BOARD = loadProfile("LINUX");

/** `o.loss`: every link loses that share of frames; `o.size`: the image's bytes (3,000 by default). */
export function keyedCampaign(ids: number[], seed = 5, o: { loss?: number; size?: number } = {}) {
  const rig = new LinkRig("st7580", lineFor("st7580", seed, { log: true, defaults: { loss: o.loss ?? 0 } }));
  const keys: KeyFile = { format: KEY_FORMAT, head: createHash("sha256").update("keyed campaign head").digest("hex").slice(0, 32), meters: Object.fromEntries(ids.map((id) => [String(id), createHash("sha256").update(`keyed campaign ${id}`).digest("hex").slice(0, 32)])) };
  for (const id of ids) bootMeter(rig, `m${id}`, id, { key: keys.meters[String(id)], autoRestart: true });
  const file = concentratorKeyFile(keys);
  let hw = 0;
  const conc = bootConcentrator(rig, "conc", ids, undefined, {}, {
    keys: keyFileLookup((o, n) => latin1(file.subarray(o, o + n)), file.length),
    counter: { load: () => hw, save: (x) => { hw = x; } },
  });
  rig.clock.advance(3000);
  const img = programImage(new TextEncoder().encode("/*meter v2*/".padEnd(o.size ?? 3000, " ")), { imageId: 9, version: 2, board: BOARD.code, blockSize: 200 });

  // meters whose first ACK to an addressed ACTIVATE the concentrator does not hear: for how
  // long it then hears nothing from them (ms), and until when (virtual ms) once it began
  const deafFor = new Map<number, number>(), deafUntil = new Map<number, number>();
  const node = rig.line.node("conc") as unknown as { receive: (b: Uint8Array, snr: number, bad: boolean) => void };
  const hear = node.receive;
  const m = newMsg();
  node.receive = (b, snr, bad) => {
    if (!bad && !decodeMsg(b, b.length, m)) {
      if (rig.clock.now() < (deafUntil.get(m.src) ?? -1)) return;
      const tm = typed(m);
      if (tm.type === T.ACK && tm.body.refType === T.ACTIVATE && deafFor.has(m.src)) {
        deafUntil.set(m.src, rig.clock.now() + deafFor.get(m.src)!);
        deafFor.delete(m.src);
        return;
      }
    }
    hear(b, snr, bad);
  };

  const blockKey = blockKeyFor(keys, img.session.digest);
  /** Runs a campaign of the given method to its end (or 4 h of virtual time); its code (-1: it did not end). */
  const run = (coded: boolean): { camp: Campaign; code: number } => {
    let code = -1;
    const e = conc.ctx.update({
      session: img.session, block: (i) => blockOf(img, i), meters: ids, deadlineMs: 0, maxRounds: 20, noProgressRounds: 5,
      maxNoAnswer: 4, silentMs: 600_000, answerMs: answerTimeMs(9600, 16, 57600, P.MAX_FRAME, P.MAX_FRAME), hostBaud: 57600,
      rebootMs: 20_000, activateAt: 0, lineBitRate: 9600, frameOverhead: 16, coded, planLoss: 0.1,
      authorise: (id) => authorisationRecord(authorisationFor(rootKey(keys, id)!, TAG_INSTALL, img.session, id, blockKey)),
      blockKey,
    }, (c) => { code = c; });
    if (e) throw new Error(`the campaign did not start: ${e}`);
    for (let t = 0; code < 0 && t < 4 * 3600; t++) rig.clock.advance(1000);
    return { camp: conc.ctx.campaign()!, code };
  };

  /** ACTIVATE frames the concentrator put on the line: broadcast, and addressed to each meter. */
  const activates = () => {
    const out = { broadcast: 0, to: new Map<number, number>() };
    for (const f of rig.line.log) {
      if (f.from !== "conc" || decodeMsg(f.bytes, f.bytes.length, m) || m.type !== T.ACTIVATE) continue;
      if (m.mode === P.TO_METER) out.to.set(m.dst, (out.to.get(m.dst) ?? 0) + 1);
      else out.broadcast++;
    }
    return out;
  };

  /** The codes of the ERRORs meter `id` put on the line. */
  const errorsFrom = (id: number) => rig.line.log.flatMap((f) => (f.from === `m${id}` && !decodeMsg(f.bytes, f.bytes.length, m) && m.type === T.ERROR ? [bodyOf(m, T.ERROR)!.code] : []));

  return { errorsFrom, rig, conc, img, run, activates, dropAck: (id: number, deafMs = 0) => { deafFor.set(id, deafMs); }, meter: (id: number) => rig.meters.get(id)! };
}
