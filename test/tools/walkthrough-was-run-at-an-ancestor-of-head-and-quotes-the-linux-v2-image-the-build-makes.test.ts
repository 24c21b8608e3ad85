/*
 * docs/walkthrough.md quotes what one run printed, at one commit. So that it cannot fall
 * behind the firmware silently: the commit it says it was run at must be in HEAD's history
 * (git merge-base --is-ancestor), and the LINUX v2 image it quotes (steps 9 to 11: the
 * file's bytes, the payload's bytes and the block count) must be the one
 * `npm run image -- --board LINUX --version 2` makes from dist now (tools/image's
 * imageFile, with the command's defaults). Like test/bundles, it reads dist as
 * `npm test` builds it (npm run build first).
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { checkImageFile, imageFile } from "../../tools/image/image";

const DOC = "docs/walkthrough.md";
const doc = readFileSync(DOC, "utf8");

/** The one match of `re` in the walkthrough (its groups), failing with what was looked for. */
function quoted(re: RegExp, what: string): RegExpMatchArray {
  const all = [...doc.matchAll(new RegExp(re.source, "g"))];
  expect(all.length, `${DOC}: ${what} (${re})`).toBe(1);
  return all[0];
}

describe("docs/walkthrough.md", () => {
  it("was run at a commit in HEAD's history", () => {
    const commit = quoted(/\*\*How it was last run\.\*\* On \d{4}-\d\d-\d\d, at commit ([0-9a-f]{7,40})\b/, "the run-at commit")[1];
    // (a shallow clone cannot tell: there the commit's absence proves nothing, and the image check below still holds)
    const shallow = spawnSync("git", ["rev-parse", "--is-shallow-repository"], { encoding: "utf8" }).stdout.trim() === "true";
    if (shallow && spawnSync("git", ["cat-file", "-e", `${commit}^{commit}`]).status !== 0) return;
    const r = spawnSync("git", ["merge-base", "--is-ancestor", commit, "HEAD"], { encoding: "utf8" });
    expect(r.error, "git must run").toBeUndefined();
    expect(r.status, `${DOC} says it was run at ${commit}, which is not an ancestor of HEAD: ${r.stderr}`).toBe(0);
  });

  it("quotes the LINUX v2 image that npm run image makes from dist", () => {
    const f = imageFile("LINUX", 2); // the command's defaults: block size 200, firmware id 1, dist, not packed
    const h = checkImageFile(f);
    if (typeof h === "string") throw new Error(h);
    const made = `${f.length} bytes, ${h.size} bytes of payload in ${h.blockCount} blocks`;

    const image = quoted(/image: \/tmp\/net\/meter-v2\.mlim: (\d+) bytes, meter v2 for LINUX, (\d+) blocks/, "step 9's image line");
    const check = quoted(/meter v2 for board 1, (\d+) bytes in (\d+) blocks of 200, SHA-256 digest matches/, "step 9's --check line");
    const written = quoted(/writing \/tmp\/net\/meter-v2\.mlim to tcp:\/\/127\.0\.0\.1:4733 as img\.bin \((\d+) bytes\)/, "step 11's upload line");
    const started = quoted(/campaign 2 started: (\d+) bytes, (\d+) blocks, 3 meters/, "step 11's campaign start");
    const says = `${image[1]} bytes, ${check[1]} bytes of payload in ${image[2]} blocks`;
    expect(says, `${DOC} quotes another image than dist/LINUX/meter.js makes now: run the walkthrough again`).toBe(made);
    expect([Number(check[2]), Number(written[1]), Number(started[1]), Number(started[2])]).toEqual([h.blockCount, f.length, h.size, h.blockCount]);
  });
});
