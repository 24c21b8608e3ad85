/*
 * The Espruino console's output as lines, shared by the console session and the board runner.
 *
 * What the 2v29 interpreter writes on its console (measured on the Linux build, stdin and
 * stdout pipes, no TTY): it echoes every input line it takes, followed by "\r\n"; a
 * statement that needs more lines shows ":" in front of each further line; the value of an
 * echoed line comes as "=value" (objects over several lines, each further line starting with
 * a space); then the prompt ">" with no newline. A line that starts with DLE (0x10) is neither
 * echoed nor answered with "=value". Output printed while the prompt is shown (timers,
 * events) comes as "\r\x1b[J" + text + "\r\n>": the prompt is erased and written again.
 * Lines end in "\r\n".
 */

/** The line the board runner sends, then closes, to a second client of a console already in use. */
export const TAKEN_LINE = "meterline board: console in use by another client";

/** The interpreter's start-up banner carries this line (" 2v29 (c) 2025 G.Williams"): the board (re)started. */
export const BANNER = /^ ?\d+v\d+(\.\d+)? \(c\) \d{4} G\.Williams/;

const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;

/**
 * One raw console line (without its "\n") as a person would read it: what follows the last
 * carriage return (the console overwrites the line there), without escape sequences and
 * other control characters, and without one leading prompt ">". A printed line that really
 * starts with ">" right after the prompt keeps one ">".
 */
export function cleanLine(raw: string): string {
  let s = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  const cr = s.lastIndexOf("\r");
  if (cr >= 0) s = s.slice(cr + 1);
  s = s.replace(ESCAPES, "").replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "");
  return s.startsWith(">") ? s.slice(1) : s;
}

/** Splits console output (any chunking) into clean lines; `flush` returns the unfinished rest, cleaned. */
export class LineSplitter {
  private rest = "";
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    let s = this.rest + chunk;
    let nl: number;
    while ((nl = s.indexOf("\n")) >= 0) {
      this.onLine(cleanLine(s.slice(0, nl)));
      s = s.slice(nl + 1);
    }
    this.rest = s;
  }

  /** The unfinished line so far (usually the prompt), cleaned; "" when nothing is pending. */
  pending(): string { return cleanLine(this.rest); }

  reset(): void { this.rest = ""; }
}
