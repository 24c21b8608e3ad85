/* The concentrator bundle's entry: its program and configuration live in Storage files. */
import profile from "board-profile";
import { espruinoHal } from "../../hal/espruino/index";
import { startupMessage } from "../common/startup";
import { checkRegions, roleRegions } from "../common/layout";
import { CONFIG_FILE, decodeConfig } from "../common/config";
import { startConcentrator } from "./concentrator";
import { st7580Factory, transparentFactory } from "../link/factory";
import { consoleApi } from "./console";
import { COUNTER_FILE, KEY_FILE, KEY_NEW, keyStore, u32At, u32Text } from "./keystore";
import { Err } from "../common/errors";
import { P } from "../protocol/catalogue";


var rc = checkRegions(profile.geometry, profile.regions, roleRegions("concentrator", profile.regions), require("Flash").getFree());
var hal = espruinoHal(profile);
var text = rc ? undefined : require("Storage").read(CONFIG_FILE);
var cfg = rc ? rc : decodeConfig(E.toUint8Array(text || ""), hal.native);
// a concentrator's id is its address on the line less P.CONC_BASE: 1 to P.MAX_CONC
if (typeof cfg !== "number" && cfg.id > P.MAX_CONC) cfg = Err.CONFIG_CORRUPT;
if (typeof cfg === "number") {
  print(startupMessage(cfg));
} else {
  if (cfg.modemPath) profile.uartOptions.path = cfg.modemPath;
  // a build-time constant: the minifier drops the driver this board does not have
  var makeModem = profile.modemKind === "transparent" ? transparentFactory(profile.baud, profile.lineBitRate) : st7580Factory(profile.baud);
  // Storage as append-only text files: the readings store (store.ts, ml.r<n>) and the
  // registry (meter-file.ts)
  var st = require("Storage");
  var files = {
    append: function (name: string, text: string) { st.open(name, "a").write(text); },
    forEach: function (name: string, fn: (line: string) => void) {
      var f = st.open(name, "r");
      for (var l = f.readLine(); l !== undefined; l = f.readLine()) fn(l.replace("\n", ""));
    },
    erase: function (name: string) { st.open(name, "r").erase(); },
    // whole files (the key store's): read in place, written whole or in parts. A part read is
    // copied into RAM: a write may compact Storage and move the file a string still points into.
    // Storage.write throws when it finds no room: false here, as the store expects
    read: function (name: string, o?: number, n?: number) { var t = st.read(name, o, n); return n === undefined || t === undefined ? t : E.toString(E.toUint8Array(t)); },
    write: function (name: string, data: string, o?: number, size?: number) { try { return st.write(name, data, o, size) !== false; } catch (e) { return false; } },
    remove: function (name: string) { st.erase(name); },
    // a file written with open() is kept in chunks named with a trailing byte 1, 2...
    list: function (prefix: string) {
      var out: string[] = [], all = st.list();
      for (var i = 0; i < all.length; i++) {
        var n = all[i].replace(/[\x00-\x1f]+$/, "");
        if (n.substr(0, prefix.length) === prefix && out.indexOf(n) < 0) out.push(n);
      }
      return out;
    },
  };
  // link keys of keyed meters, and the transmit counter's high-water mark (docs/security.md)
  var keyText = st.read(KEY_FILE, 0, 4);
  // (key rotation changes them: keystore.ts keeps them through power cuts)
  var ks = keyText === undefined && st.read(KEY_NEW, 0, 4) === undefined ? undefined : keyStore(files);
  var keys = ks === undefined ? undefined : {
    keys: ks.keys,
    rotation: ks,
    counter: {
      load: function () { var c = st.read(COUNTER_FILE) || ""; return c.length === 4 ? u32At(c, 0) : 0; },
      save: function (hw: number) { st.write(COUNTER_FILE, u32Text(hw)); },
    },
  };
  // images are kept as Storage text: the interpreter turns a block of it into bytes natively
  hal.native.stringToBytes = E.toUint8Array;
  var ctx = startConcentrator(hal, profile.baud, makeModem, profile.regions, cfg, files, keys);
  // the console functions at the prompt: meterline.meters(), .update(file, options), .progress() ...
  // airtime estimates: the line's bit rate from the profile, 16 bytes of PHY overhead a frame (as the simulator's)
  var api = consoleApi(ctx, hal.native, profile.code, function (name) { return require("Storage").read(name); }, function (line) { print(line); },
    profile.lineBitRate ? { bitRate: profile.lineBitRate, frameOverhead: 16, hostBaud: profile.baud } : undefined);
  api.config = ctx.config;
  api.ctx = ctx;
  global.meterline = api;
  // started: flash.sh waits for this line
  global.mlUp = 1;
  print("meterline: concentrator " + cfg.id + " started");
}
