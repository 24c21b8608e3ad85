/*
 * Property names the minifier may shorten in every bundle (meter, boot and concentrator:
 * rollup.config.js renames them on every object, built-ins included). Terser never
 * renames properties by itself: every `.perUnit` and `{intervalS: ...}` is kept whole, and
 * on a board the program text is what the app region and the image carry (the Original's
 * image must fit its 32,640-byte maxImageSize). The names below are our own, used only
 * inside one bundle, so renaming them the same way everywhere in it changes nothing.
 *
 * A name belongs here only when nothing outside the bundle spells it: not a wire field (the
 * codec builds bodies from the catalogue's layout strings), not a configuration key (JSON
 * written by flash.sh), not a region name (looked up by string), not an Espruino or
 * JavaScript API, and not a name the host reads from a running bundle (`meterline.receiver`,
 * `.state()`, `.lastError()`, `.endpoint.events.received`...). The gate's test checks the
 * list against the first three and against RESERVED below. Two names are also built-ins'
 * (`now`: Date.now; `clear`: Map's and Set's): they stay because device code cannot reach
 * those (the gate refuses a member a built-in global lacks, so a renamed `Date.r`, and the
 * missing Map and Set), and the test says so. On a running concentrator the clock's
 * `now()` is renamed too: `meterline.ctx.now()` does not exist there (no tool uses it).
 */
export const INTERNAL_NAMES = [
  // flash, layout, HAL
  "geometry", "eraseUnits", "writeAlign", "perUnit", "capacity", "crc32", "sha256", "bytesToString", "stringToBytes", "freeVariables",
  "native", "watchdog", "maxImageSize", "maxImage", "repairRows", "uartOptions", "modemUart", "modemTreq", "modemResetn",
  // records, metering, trial
  "append", "appends", "intervalS", "savedPulses", "minSaveS", "maxSaveS", "constant", "wallTime", "timeouts",
  "getSetting", "setSetting", "setGroup", "register", "tries", "onTrial", "confirmed", "event",
  // update receiver and decoder
  "session", "outOfSession", "duplicate", "tornUnits", "refused", "repairs", "useless", "decodes", "cleanXors", "rowXors", "reads",
  "control", "block", "repair", "deficit", "report", "activate",
  "rebuild", "lacking", "offer", "keep", "solve", "work", "decoder",
  // packed images (common/image.ts) and the boot routine's natives
  "plain", "chunk", "offsets", "unshrink", "unpacks",
  // the clock (hal/types.ts Clock; the interpreter's setTimeout is a global, never a property)
  "setTimeout", "setInterval",
  // the concentrator's campaign configuration and totals (the console's options keep their names)
  "answerMs", "frameOverhead", "lineBitRate", "hostBaud", "onMessage", "noProgressRounds", "checkpoint", "airtimeMs",
  "deadlineMs", "silentMs", "rebootMs", "maxNoAnswer", "nowUnix", "noAnswers", "setProfileAt", "profileAt", "setEventAt", "eventAt",
  "setInfo", "exportReadings", "clock", "rounds", "frames", "blocks", "pending", "coded", "bitRate", "onlyCheck", "planLoss", "refuse",
  // link, codec, auth
  "pos", "buf", "counter", "malformed", "inGroup", "lastDecodeError", "decodeErrors", "notForUs",
  "queueFull", "sendFailed", "lastLength", "maxPayload", "badChecksum", "rxGarbage", "garbage", "rxFrames", "rxBad",
  "txFrames", "txFailed", "txOption", "retries", "attempts", "resets",
  "keyed", "grant", "authorise", "derive", "problem", "highest", "blockKey",
  // the message header and the byte cursor (codec.ts: the header is fixed bytes, never a layout's field)
  "type", "seq", "src", "mode", "dst", "body", "mac", "err",
  // the HAL and the board profile's pins (hal/types.ts, hal/espruino), framers, digest chain, counters
  "system", "pulse", "led", "uart", "treq", "resetn", "pulsePin", "onData", "mapped", "feed", "step",
  "erases", "naks", "units", "stored", "corrupt", "torn",
  // the endpoint's handlers: its authentication and its concentrator's settings (endpoint.ts EndpointHandlers)
  "auth", "peer",
  // the watchdog (hal/types.ts Watchdog), the metering's 10 s tick, the digest chain's result (common/update-image.ts)
  "enable", "kick", "tick", "result",
  // the clock's now and clear (hal/types.ts Clock), the metering's pulse count
  "now", "clear", "pulses",
];

/**
 * Names that must never be shortened though they are ours: the host reads them from a
 * running meter bundle (tests, bench:memory, the console of a board).
 */
export const RESERVED = [
  "meterline", "receiver", "endpoint", "events", "received", "sent", "ready", "attach", "state", "lastError", "metering", "modem",
  "mlBoot", "mlThrew", "mlRan", "config", "baud", "settings", "savePulses", "stats", "authRejected",
  // the concentrator's console: its functions, their options, what tests read of it
  "ctx", "registry", "campaign", "phase", "update", "progress", "pause", "resume", "abort", "read", "join", "profile",
  "identify", "time", "meters", "export", "discover", "imageId", "version", "board", "blockSize", "group", "maxRounds",
  "deadlineS", "activateAt", "tags", "method", "loss", "checkOnly",
  // what the head-end's console calls read (tools/headend/commands.ts: METER_STATES_CALL):
  // shortened, the head-end's campaign query threw in the concentrator (found by the walkthrough at 6fa824d)
  "unfinished", "meterCount", "codeOf",
];

/** Terser's option: only these names, exactly. */
export function internalNamesRegex(): RegExp {
  return new RegExp("^(" + INTERNAL_NAMES.join("|") + ")$");
}
