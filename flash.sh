#!/usr/bin/env bash
# Provision a board: build, then write the boot routine, the program, the per-device
# configuration and the boot stub through the espruino CLI, then check that it started.
# The host tools' convention (tools/cli/cli.ts), by hand: --help prints the options and an
# example (exit 0); a bad argument or an unknown option exits 2, a build, an upload or a board
# that failed exits 1, each with one line on stderr.
set -euo pipefail
cd "$(dirname "$0")"

help() {
  cat <<'EOT'
usage: ./flash.sh --board B --role meter|concentrator --port P [options]

Provisions a board over its console: builds, then writes the boot routine, the program, the
per-device configuration and the boot stub through the espruino CLI, then checks that the
program started.

options:
  --board B             the board profile (board-profiles/B.json) (required)
  --role R              meter or concentrator (required)
  --port P              a serial device (/dev/ttyACM0) or tcp://host:port (required unless --dry-run)
  --id N                the node's id (required): a meter's, 1 to 4294901759; a concentrator's,
                        1 to 65534 (its address on the line is 0xFFFF0000 + it, its name in the head-end)
  --modem-path DEV      the LINUX board's modem device (a pseudo-terminal)
  --keys FILE           the head-end's key file (npm run keys -- new): a meter gets its own key,
                        a concentrator its meters' link keys
  --dry-run OUT         write what would be sent to OUT; needs no board
  --upload-timeout S    bound on the upload, seconds (default 300)
  --check-timeout S     bound on the check that the program started, seconds (default 60)
  --no-build            use the bundles in dist/ as they are
  -h, --help            this help

examples:
  ./flash.sh --board ESPRUINOBOARD --role meter --id 1001 --port /dev/ttyACM0
  ./flash.sh --board LINUX --role meter --id 7 --modem-path /dev/pts/4 --port tcp://127.0.0.1:2323

exit 0 when the program started; 1 when the build, the upload or the board failed; 2 for a bad argument
EOT
}
die() { echo "flash: $*" >&2; exit 2; }
fail() { echo "flash: $*" >&2; exit 1; }

board="" role="" port="" id="" modem_path="" dry_run="" no_build="" keys="" upload_timeout=300 check_timeout=60
while [ $# -gt 0 ]; do
  case "$1" in
    --board|--role|--port|--id|--modem-path|--dry-run|--keys|--upload-timeout|--check-timeout)
      [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"
      case "$1" in
        --board) board="$2" ;; --role) role="$2" ;; --port) port="$2" ;;
        --id) id="$2" ;; --modem-path) modem_path="$2" ;; --dry-run) dry_run="$2" ;; --keys) keys="$2" ;;
        --upload-timeout) upload_timeout="$2" ;; --check-timeout) check_timeout="$2" ;;
      esac
      shift 2 ;;
    --no-build) no_build=1; shift ;;
    -h|--help) help; exit 0 ;;
    *) die "unknown option \"$1\" (--help lists the options)" ;;
  esac
done

[ -n "$board" ] || die "--board is required (one of: $(ls board-profiles/*.json | xargs -n1 basename | sed 's/\.json$//' | tr '\n' ' '))"
[ -f "board-profiles/$board.json" ] || die "unknown board \"$board\" (known: $(ls board-profiles/*.json | xargs -n1 basename | sed 's/\.json$//' | tr '\n' ' '))"
case "$role" in meter|concentrator) ;; "") die "--role is required: meter or concentrator" ;; *) die "--role must be meter or concentrator, not \"$role\"" ;; esac
[ -n "$id" ] || die "--id is required for a $role: a meter's 1 to 4294901759, a concentrator's 1 to 65534"
[ -n "$port" ] || [ -n "$dry_run" ] || die "--port is required (a serial device or tcp://host:port), or use --dry-run OUT"
[[ "$upload_timeout" =~ ^[1-9][0-9]*$ ]] || die "--upload-timeout must be whole seconds, not \"$upload_timeout\""
[[ "$check_timeout" =~ ^[1-9][0-9]*$ ]] || die "--check-timeout must be whole seconds, not \"$check_timeout\""

check=(--board "$board" --role "$role")
[ -z "$id" ] || check+=(--id "$id")
[ -z "$modem_path" ] || check+=(--modem-path "$modem_path")
[ -z "$keys" ] || check+=(--keys "$keys")
node --import tsx tools/flash/plan.ts --check "${check[@]}"

if [ -z "$no_build" ]; then
  BOARD="$board" npm run --silent build >/dev/null || fail "build failed: run npm run build to see why"
fi

plan="$(mktemp "${TMPDIR:-/tmp}/meterline-plan.XXXXXX.js")"
trap 'rm -f "$plan"' EXIT
node --import tsx tools/flash/plan.ts "${check[@]}" --out "$plan"

cli=(npx --no-install espruino --no-ble -p "${port:-PORT}" "$plan")
if [ -n "$dry_run" ]; then
  { echo "// would run: ${cli[*]/$plan/<this file>}"; cat "$plan"; } > "$dry_run"
  echo "flash: dry run: wrote $(wc -c < "$dry_run") bytes to $dry_run"
  exit 0
fi
# The CLI exits 0 even when it could not connect (serial "Unable to connect!", tcp
# ECONNREFUSED) and returns as soon as it has written the plan: judge by what it printed,
# then ask the board itself.
log="$(mktemp "${TMPDIR:-/tmp}/meterline-upload.XXXXXX.log")"
trap 'rm -f "$plan" "$log"' EXIT
set +e
timeout "$upload_timeout" "${cli[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -ne 124 ] || fail "the upload to $port did not finish within $upload_timeout s (--upload-timeout)"
[ "$rc" -eq 0 ] || fail "the espruino CLI failed (exit $rc): $(grep -v '^\s*$' "$log" | tail -n 1)"
if ! grep -q '^Upload Complete' "$log"; then
  why="$(grep -m1 -oE 'ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|Port "[^"]*" not found|Unable to connect!?' "$log" || true)"
  fail "cannot reach the board at $port: ${why:-the espruino CLI did not complete the upload}"
fi
node --import tsx tools/flash/verify.ts --port "$port" --role "$role" --id "$id" --timeout "$check_timeout" || exit 1
