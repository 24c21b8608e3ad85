/* The meter bundle's entry on an Espruino board: build the HAL from the profile, check, start. */
import profile from "board-profile";
import { startupMessage } from "../common/startup";
import { checkRegions, roleRegions } from "../common/layout";
import { readConfig } from "../common/config";
import { startMeter } from "./meter";
import { st7580Factory, transparentFactory } from "../link/factory";
import { floorKeeper, keyedAuthoriser } from "./authorise";
import { decoder, rowsDecoder } from "./decoder";
import { watchTamper } from "./tamper";
import { espruinoHal, espruinoSwitch } from "../../hal/espruino/index";

// (checkRegions called here, not through a wrapper the minifier would keep as a call of a function literal)
var rc = checkRegions(profile.geometry, profile.regions, roleRegions("meter", profile.regions), require("Flash").getFree());
var hal = espruinoHal(profile);
var cfg = rc ? rc : readConfig(hal.flash, hal.native, profile.regions.boot!);
if (typeof cfg === "number") {
  print(startupMessage(cfg));
} else {
  if (cfg.modemPath) profile.uartOptions.path = cfg.modemPath;
  // a build-time constant: the minifier drops the driver this board does not have
  var makeModem = profile.modemKind === "transparent" ? transparentFactory(profile.baud, profile.lineBitRate) : st7580Factory(profile.baud);
  // keys need native SHA-256: without it the bundle carries none of the authentication code
  var meter = startMeter(hal, profile, makeModem, profile.regions, cfg, undefined, profile.sha256 ? keyedAuthoriser : floorKeeper,
    // the coded method's decoder: rows reduced in RAM as they arrive, or streamed from flash
    // (the Original's RAM). Through a call the minifier keeps: passed bare, the decoder's
    // function would be inlined into the program's body, its closures a scope deeper
    // (each a copy of the scope chain on the interpreter: meter-bundles-keep-their-closures-shallow)
    /*@__NOINLINE__*/ Object(profile.streamedDecode ? decoder : rowsDecoder),
    // a boot routine that unpacks packed images says so (boot/entry.ts); older ones do not
    global.mlUnpack === 1);
  global.meterline = meter;
  // the cover's tamper switch, where the profile declares one (a build-time constant: other
  // boards carry none of it)
  if (profile.tamperPin) /*@__NOINLINE__*/ watchTamper(/*@__NOINLINE__*/ espruinoSwitch(profile.tamperPin), meter.metering, hal.clock);
  // started: the boot stub's start deadline stops here (a new program on trial that never
  // gets this far is reverted), and flash.sh waits for this line
  global.mlUp = 1;
  print("meterline: meter " + cfg.id + " started");
}
