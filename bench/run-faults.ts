/*
 * The scenario's faults on the simulated meters (runScenario's first part): starting each
 * meter program, restarts through the boot routine, power cuts during the swap (inside the
 * boot routine) and during the download (in the middle of a flash write), and power back.
 * Each event goes to the run's notes, named by meter and kind (the report's lanes).
 */
import { hostNative } from "../hal/host/native";
import { PowerCut } from "../hal/mock/flash";
import { install } from "../firmware/boot/install";
import type { BoardProfile } from "../tools/profiles/profiles";
import { bootMeter, type LinkRig, type MeterNode } from "./rig";
import type { Image } from "./image";
import { KIND_CODE, type Cut, type Scenario } from "./scenario";

export type Note = (text: string, meter?: number, kind?: "cut" | "power-back" | "restart") => void;

export interface FaultDeps {
  rig: LinkRig;
  sc: Scenario;
  img: Image;
  /** The board every simulated meter is. */
  board: BoardProfile;
  /** The meter's root key when the scenario is keyed. */
  keyOf(id: number): string | undefined;
  note: Note;
}

export class Faults {
  /** Meters whose scenario cut happened. */
  readonly cutsDone = new Set<number>();
  /** Per meter, its cuts as the meters table lists them. */
  readonly cutLog: Map<number, string[]>;
  /** Simulated meters whose boot routine installed the campaign's image. */
  readonly installed = new Set<number>();
  /**
   * Per meter struck by a readings-day outage, what it cost: `register` the pulses it had
   * counted but not saved (its register comes back without them), `profile` the pulses of the
   * load-profile interval the outage struck, counted before it (in no interval it closes:
   * the interval is lost, its slots MISSING), and for how long it was off.
   */
  readonly outages = new Map<number, { register: number; profile: number; offSeconds: number }>();
  private readonly swapCuts: Map<number, Cut>;
  private readonly downloadCuts: Map<number, Cut>;

  constructor(private readonly d: FaultDeps) {
    this.cutLog = new Map(d.sc.meters.map((m) => [m.id, []]));
    this.swapCuts = new Map(d.sc.cuts.filter((c) => c.during === "swap").map((c) => [c.meter, c]));
    this.downloadCuts = new Map(d.sc.cuts.filter((c) => c.during === "download").map((c) => [c.meter, c]));
  }

  /** Starts meter `id`'s program (on its flash as the boot routine left it, or a fresh board). */
  start(id: number, flash?: MeterNode["flash"]): MeterNode {
    const { rig, sc, board } = this.d;
    const m = sc.meters.find((x) => x.id === id)!;
    const node = bootMeter(rig, `m${id}`, id, { board: board.board, version: 1, kind: KIND_CODE[m.kind], flash, key: this.d.keyOf(id) });
    if (m.loss !== undefined) rig.line.link("conc", `m${id}`, { loss: m.loss });
    node.system.onReset = () => { rig.clock.setTimeout(() => this.restart(id), 0); };
    return node;
  }

  /** A restart request: power off, the boot routine, the program again; a swap cut strikes inside the boot routine. */
  restart(id: number): void {
    const { rig, img, note } = this.d;
    const node = rig.meters.get(id)!;
    node.powerOff();
    const cut = this.swapCuts.get(id);
    if (cut) {
      this.swapCuts.delete(id);
      node.flash.planCut({ op: node.flash.ops + cut.atOperation, mode: "torn", fraction: 0.5 });
      try {
        install(node.flash, hostNative, node.board.regions);
        note(`meter ${id}: the cut at install operation ${cut.atOperation} never came (the copy was shorter)`);
        node.flash.planCut(null);
      } catch (e) {
        if (!(e instanceof PowerCut)) throw e;
        this.cutsDone.add(id);
        this.cutLog.get(id)!.push(`swap, op ${cut.atOperation}`);
        note(`meter ${id}: power cut during the swap (install operation ${cut.atOperation}); off for ${cut.offSeconds} s`, id, "cut");
        rig.clock.setTimeout(() => this.powerOn(id, node.flash), cut.offSeconds * 1000);
        return;
      }
      this.start(id, node.flash);
      return;
    }
    const r = install(node.flash, hostNative, node.board.regions);
    if (r.copied && r.imageId === img.session.imageId) this.installed.add(id);
    note(`meter ${id}: restarted; boot routine ${r.copied ? `copied image ${r.imageId}` : "had nothing to copy"}`, id, "restart");
    this.start(id, node.flash);
  }

  /** Power back after a cut: the boot routine finishes what it was doing, then the program. */
  powerOn(id: number, flash: MeterNode["flash"]): void {
    const { rig, img, note } = this.d;
    flash.reboot();
    const r = install(flash, hostNative, rig.meters.get(id)!.board.regions);
    if (r.copied && r.imageId === img.session.imageId) this.installed.add(id);
    note(`meter ${id}: power back; boot routine ${r.copied ? `finished the copy of image ${r.imageId} (attempt ${r.attempt})` : "had nothing to copy"}`, id, "power-back");
    this.start(id, flash);
  }

  /**
   * A readings-day outage now: the meter goes off (what it had not saved is lost, as on a
   * board) and comes back after the cut's offSeconds. `inInterval`: the pulses it counted in
   * its running interval (run-load.ts startPulses).
   */
  outage(cut: Cut, inInterval: number): void {
    const { rig, note } = this.d;
    const node = rig.meters.get(cut.meter)!, m = node.meter.metering, unsaved = m.pulses() - m.savedPulses();
    this.outages.set(cut.meter, { register: unsaved, profile: inInterval, offSeconds: cut.offSeconds });
    node.powerOff();
    this.cutsDone.add(cut.meter);
    this.cutLog.get(cut.meter)!.push(`outage, ${cut.offSeconds} s`);
    note(`meter ${cut.meter}: power outage during the day of readings (${unsaved} pulses not saved yet); off for ${cut.offSeconds} s`, cut.meter, "cut");
    rig.clock.setTimeout(() => this.powerOn(cut.meter, node.flash), cut.offSeconds * 1000);
  }

  /** After each step of the campaign: a meter that reached its download cut's fraction gets the cut planned at its next flash write. */
  armDownloadCuts(): void {
    const { rig, img } = this.d;
    for (const [id, cut] of this.downloadCuts) {
      const n = rig.meters.get(id)!;
      if (n.meter.receiver.received() >= cut.atFraction * img.session.blockCount) {
        this.downloadCuts.delete(id);
        n.flash.planCut({ op: n.flash.ops, mode: "torn", fraction: 0.5 });
      }
    }
  }

  /**
   * A power cut thrown out of a step: the simulated meter whose flash lost power goes off
   * and comes back after the scenario's time. False when no simulated meter lost power (the
   * caller throws it on).
   */
  struck(err: unknown, simIds: number[]): boolean {
    const { rig, sc, img, note } = this.d;
    if (!(err instanceof PowerCut)) return false;
    const victim = simIds.find((id) => rig.meters.get(id)!.flash.powerLost);
    if (victim === undefined) return false;
    const node = rig.meters.get(victim)!;
    node.powerOff();
    const cut = sc.cuts.find((c) => c.meter === victim && c.during === "download")!;
    this.cutsDone.add(victim);
    this.cutLog.get(victim)!.push(`download, ${node.meter.receiver.received()} of ${img.session.blockCount} blocks`);
    note(`meter ${victim}: power cut in the middle of a flash write during the download (${node.meter.receiver.received()} of ${img.session.blockCount} blocks stored); off for ${cut.offSeconds} s`, victim, "cut");
    rig.clock.setTimeout(() => this.powerOn(victim, node.flash), cut.offSeconds * 1000);
    return true;
  }

  /** The scenario's cuts that never happened, as the verdict says them. */
  missed(): string[] {
    return this.d.sc.cuts.filter((c) => !this.cutsDone.has(c.meter)).map((c) => `the ${c.during} cut of meter ${c.meter} never happened`);
  }
}
