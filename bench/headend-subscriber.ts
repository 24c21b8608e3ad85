/*
 * The scale benchmark's subscriber (bench/headend-scale.ts), in a process of its own as any
 * consumer of the head-end's broker is: connects to the broker, subscribes to meterline/#,
 * counts the reading messages, and once it has --total of them (or on SIGTERM) prints one JSON
 * line { received, lastAt } and exits; lastAt is the wall time in ms (performance.timeOrigin
 * + performance.now(), comparable with the parent's) of the last reading it counted. It prints
 * "subscribed" once its subscription is in place.
 *
 *   node --import tsx bench/headend-subscriber.ts --url mqtt://127.0.0.1:PORT --total N
 */
import mqtt from "mqtt";
import { cli, int, isMain, type Parsed, type Tool } from "../tools/cli/cli";

/** A reading's topic: meterline/<concentrator>/<meter>/<obis> (status topics end in /status). */
export const READING_TOPIC = /^meterline\/\d+\/\d+\/[^/]+$/;

export const TOOL: Tool = {
  name: "headend-subscriber", run: "node --import tsx bench/headend-subscriber.ts",
  about: "The scale benchmark's subscriber: counts the reading messages on the broker and prints\n{ received, lastAt } once it has --total of them (bench/headend-scale.ts starts it).",
  options: {
    url: { type: "string", value: "URL", required: true, help: "the broker, mqtt://host:port" },
    total: { type: "string", value: "N", required: true, help: "reading messages to wait for" },
  },
  examples: ["node --import tsx bench/headend-subscriber.ts --url mqtt://127.0.0.1:1883 --total 240000"],
};

async function main({ values: v }: Parsed): Promise<number> {
  const total = int("--total", v.total as string, 1, 1e9)!;
  const sub = await mqtt.connectAsync(v.url as string, { clientId: `scale-subscriber-${process.pid}` });
  let received = 0, lastAt = 0, done = false;
  let ended: () => void = () => undefined;
  const over = new Promise<void>((r) => { ended = r; });
  const finish = () => {
    if (done) return;
    done = true;
    process.stdout.write(JSON.stringify({ received, lastAt }) + "\n");
    void sub.endAsync().finally(ended);
  };
  sub.on("message", (topic) => {
    if (!READING_TOPIC.test(topic) || topic.endsWith("/status")) return;
    received++;
    lastAt = performance.timeOrigin + performance.now();
    if (received === total) finish();
  });
  await sub.subscribeAsync("meterline/#", { qos: 0 });
  process.on("SIGTERM", finish);
  process.stdout.write("subscribed\n");
  await over;
  return 0;
}

if (isMain(import.meta.url)) cli(TOOL, main, { exit: true });
