/*
 * The generated sections of docs/fuzzing.md: each sits between "<!-- NAME -->" and
 * "<!-- /NAME -->" and is replaced whole by the tool that makes it (npm run fuzz -- --doc,
 * npm run fuzz:coverage -- --doc); the text around them is written by hand.
 */
import { readFileSync } from "node:fs";
import { ToolError, writeOutput } from "../cli/cli";

export function writeSection(flag: string, path: string, name: string, body: string): void {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ToolError(`${flag} ${path}: cannot read it`);
  }
  const open = `<!-- ${name} -->`, close = `<!-- /${name} -->`;
  const a = text.indexOf(open), b = text.indexOf(close);
  if (a < 0 || b < a) throw new ToolError(`${flag} ${path}: no "${open}" ... "${close}" section to replace`);
  writeOutput(flag, path, `${text.slice(0, a + open.length)}\n${body.trim()}\n${text.slice(b)}`);
}
