/*
 * The meter program's composition root: everything it runs on is passed in (HAL,
 * regions, configuration), so the same code runs on a board, in unit tests and in the
 * bench. Metering, registers, administration and the update receiver plug in here.
 */
import type { Hal } from "../../hal/types";
import type { Regions } from "../common/layout";
import type { DeviceConfig } from "../common/config";

export interface MeterContext {
  hal: Hal;
  regions: Regions;
  config: DeviceConfig;
  baud: number;
  /** Milliseconds since the clock's epoch at start. */
  startedAt: number;
}

export function startMeter(hal: Hal, regions: Regions, config: DeviceConfig, baud: number): MeterContext {
  hal.modemUart.setup(baud);
  if (hal.led) hal.led.set(false);
  return { hal: hal, regions: regions, config: config, baud: baud, startedAt: hal.clock.now() };
}
