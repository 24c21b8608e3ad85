/*
 * The concentrator program's composition root: HAL, regions and configuration come in
 * as parameters. The registry, reading collection and campaign engine plug in here.
 */
import type { Hal } from "../../hal/types";
import type { Regions } from "../common/layout";
import type { DeviceConfig } from "../common/config";

export interface ConcentratorContext {
  hal: Hal;
  regions: Regions;
  config: DeviceConfig;
  baud: number;
  startedAt: number;
}

export function startConcentrator(hal: Hal, regions: Regions, config: DeviceConfig, baud: number): ConcentratorContext {
  hal.modemUart.setup(baud);
  return { hal: hal, regions: regions, config: config, baud: baud, startedAt: hal.clock.now() };
}
