/* The meter bundle's entry on an Espruino board: build the HAL from the profile, check, start. */
import profile from "board-profile";
import { espruinoHal } from "../../hal/espruino/index";
import { checkRoleRegions, startupMessage } from "../common/startup";
import { readConfig } from "../common/config";
import { startMeter } from "./meter";

var rc = checkRoleRegions("meter", profile.geometry, profile.regions, require("Flash").getFree());
var hal = espruinoHal(profile);
var cfg = rc ? rc : readConfig(hal.flash, hal.native, profile.regions.boot!);
if (typeof cfg === "number") {
  print(startupMessage(cfg));
} else {
  if (cfg.modemPath) profile.uartOptions.path = cfg.modemPath;
  global.meterline = startMeter(hal, profile.regions, cfg, profile.baud);
}
