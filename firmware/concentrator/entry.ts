/* The concentrator bundle's entry: its program and configuration live in Storage files. */
import profile from "board-profile";
import { espruinoHal } from "../../hal/espruino/index";
import { checkRoleRegions, startupMessage } from "../common/startup";
import { CONFIG_FILE, decodeConfig } from "../common/config";
import { startConcentrator } from "./concentrator";
import { st7580Factory, transparentFactory } from "../link/factory";
import { consoleApi } from "./console";

/** Storage file of collected readings. */
var READINGS_FILE = "ml.readings";

var rc = checkRoleRegions("concentrator", profile.geometry, profile.regions, require("Flash").getFree());
var hal = espruinoHal(profile);
var text = rc ? undefined : require("Storage").read(CONFIG_FILE);
var cfg = rc ? rc : decodeConfig(E.toUint8Array(text || ""), hal.native);
if (typeof cfg === "number") {
  print(startupMessage(cfg));
} else {
  if (cfg.modemPath) profile.uartOptions.path = cfg.modemPath;
  // a build-time constant: the minifier drops the driver this board does not have
  var makeModem = profile.modemKind === "transparent" ? transparentFactory(profile.baud, profile.lineBitRate) : st7580Factory(profile.baud);
  // readings: one line each, appended to a Storage file before they count as collected
  var readings = {
    append: function (line: string) { require("Storage").open(READINGS_FILE, "a").write(line + "\n"); },
    forEach: function (fn: (line: string) => void) {
      var f = require("Storage").open(READINGS_FILE, "r");
      for (var l = f.readLine(); l !== undefined; l = f.readLine()) fn(l.replace("\n", ""));
    },
  };
  var ctx = startConcentrator(hal, profile.baud, makeModem, profile.regions, cfg, readings);
  // the console functions at the prompt: meterline.meters(), .update(file, options), .progress() ...
  // airtime estimates: the line's bit rate from the profile, 16 bytes of PHY overhead a frame (as the simulator's)
  var api = consoleApi(ctx, hal.native, profile.code, function (name) { return require("Storage").read(name); }, function (line) { print(line); },
    profile.lineBitRate ? { bitRate: profile.lineBitRate, frameOverhead: 16 } : undefined);
  api.config = ctx.config;
  api.ctx = ctx;
  global.meterline = api;
}
