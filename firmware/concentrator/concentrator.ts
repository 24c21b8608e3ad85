/*
 * The concentrator program's composition root: HAL, board facts, regions and
 * configuration come in as parameters. It owns the link (driver and endpoint) and routes
 * what meters send to the running campaign. The registry, reading collection and the
 * console functions plug in here next.
 */
import type { Hal } from "../../hal/types";
import type { Regions } from "../common/layout";
import type { DeviceConfig } from "../common/config";
import { Err } from "../common/errors";
import { P } from "../protocol/catalogue";
import { Msg } from "../protocol/codec";
import { endpoint, Endpoint } from "../link/endpoint";
import { Modem, ModemEvents } from "../link/modem";
import { campaign, Campaign, CampaignConfig, Ph, unionRepair } from "./campaign";

export interface ConcentratorContext {
  config: DeviceConfig;
  /** State and store regions: campaign and readings persistence. */
  regions: Regions;
  baud: number;
  endpoint: Endpoint;
  modem: Modem;
  /** Starts an update campaign; 0, or LINK_NOT_READY / CAMPAIGN_ABORTED when one is running. */
  update(cfg: CampaignConfig, done: (code: number) => void): number;
  campaign(): Campaign | null;
  lastError(): number;
}

export function startConcentrator(
  hal: Hal,
  baud: number,
  makeModem: (hal: Hal, events: ModemEvents, seed: number) => Modem,
  regions: Regions,
  config: DeviceConfig,
): ConcentratorContext {
  var current: Campaign | null = null;
  var lastError = 0, ready = false;
  var ep = endpoint(P.BROADCAST_ID, 4, {
    message: function (m: Msg) { if (current) current.onMessage(m); },
    ready: function (err) { ready = !err; if (err) lastError = err; },
    sent: function (_t, _s, err) {
      if (err) lastError = err;
      if (current) current.onSent();
    },
    inGroup: function () { return false; },
  });
  var modem = makeModem(hal, ep.events, 0);
  ep.attach(modem);
  modem.start();
  return {
    config: config,
    regions: regions,
    baud: baud,
    endpoint: ep,
    modem: modem,
    update: function (cfg, done) {
      if (!ready) return Err.LINK_NOT_READY;
      if (current && current.phase() !== Ph.DONE && current.phase() !== Ph.ABORTED) return Err.CAMPAIGN_ABORTED;
      current = campaign(ep, hal.clock, cfg, unionRepair, done);
      current.start();
      return 0;
    },
    campaign: function () { return current; },
    lastError: function () { return lastError; },
  };
}
