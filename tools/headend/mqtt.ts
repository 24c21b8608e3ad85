/*
 * Where the head-end publishes: an embedded MQTT broker (aedes, with a TCP server) by
 * default, or an external broker through the mqtt.js client (docs/headend.md, Topics).
 */
import { createServer, type AddressInfo, type Server } from "node:net";
import { Aedes } from "aedes";
import mqtt from "mqtt";

export interface Publisher {
  /** The broker's address for subscribers: mqtt://host:port. */
  readonly url: string;
  /** Publishes one message (QoS 1 to an external broker); retained unless `retain` is false. */
  publish(topic: string, payload: string, retain?: boolean): Promise<void>;
  /** publish() without a promise, for the readings (one a reading: no promise to make and settle); `failed` hears of an error. */
  send(topic: string, payload: string, retain: boolean, failed: (e: Error) => void): void;
  /** Calls `f` with each message on `filter` (MQTT wildcards + and #) from now on; `retain`: it came flagged retained. */
  subscribe(filter: string, f: (topic: string, payload: Buffer, retain: boolean) => void): Promise<void>;
  close(): Promise<void>;
}

/** Whether `topic` is on `filter` (MQTT's + one level, # the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/"), t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length || (f[i] !== "+" && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/** An aedes broker on a TCP port (0: any free port) of `host`. */
export async function embeddedBroker(port: number, host = "0.0.0.0"): Promise<Publisher> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      broker.close();
      reject(new Error(`the MQTT broker cannot listen on port ${port}: ${e.code === "EADDRINUSE" ? "the port is in use (--mqtt-port, or --mqtt for a broker that runs already)" : e.code ?? e.message}`));
    });
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  // Publishes go to aedes at most IN_FLIGHT at a time, the rest wait here in order. aedes's
  // emitter queues what exceeds its concurrency (100) in an array it shift()s, which costs
  // the queue's length each time: the head-end publishing a whole pull's readings without
  // waiting (core.ts) made that quadratic, 1,500 readings/s for 240,000 readings where this
  // queue, read by an index, keeps it linear (docs/headend.md, Scale).
  const IN_FLIGHT = 64;
  // `done`: a publish()'s promise to settle; `failed`: a send()'s error listener (no closure a reading)
  const waiting: { topic: string; payload: string; retain: boolean; done: ((e?: Error) => void) | null; failed: ((e: Error) => void) | null }[] = [];
  let head = 0, inFlight = 0;
  const pump = () => {
    while (inFlight < IN_FLIGHT && head < waiting.length) {
      const m = waiting[head];
      waiting[head++] = undefined as never;
      if (head > 4096 && head * 2 > waiting.length) { waiting.splice(0, head); head = 0; }
      inFlight++;
      // (the payload as a string: the packet writer takes one as it is, a Buffer a reading less to make)
      broker.publish({ cmd: "publish", topic: m.topic, payload: m.payload, qos: 0, retain: m.retain, dup: false }, (e) => {
        inFlight--;
        if (m.done) m.done(e ?? undefined);
        else if (e && m.failed) m.failed(e);
        pump();
      });
    }
  };
  return {
    url: `mqtt://${shown}:${a.port}`,
    publish: (topic, payload, retain = true) => new Promise<void>((resolve, reject) => {
      waiting.push({ topic, payload, retain, done: (e) => (e ? reject(e) : resolve()), failed: null });
      pump();
    }),
    send: (topic, payload, retain, failed) => {
      waiting.push({ topic, payload, retain, done: null, failed });
      pump();
    },
    subscribe: (filter, f) => new Promise<void>((resolve) => {
      broker.subscribe(filter, (packet, done) => {
        f(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload), !!packet.retain);
        done();
      }, () => resolve());
    }),
    close: () => new Promise<void>((resolve) => {
      server.close(() => broker.close(() => resolve()));
      // clients still connected keep the server open: end them
      for (const c of Object.values((broker as unknown as { clients: Record<string, { close(): void }> }).clients ?? {})) c.close();
    }),
  };
}

/** A broker that runs already (Mosquitto, EMQX, another head-end's): mqtt://host:port. */
export async function externalBroker(url: string, clientId = `meterline-headend-${process.pid}`): Promise<Publisher> {
  let client: mqtt.MqttClient;
  try {
    client = await mqtt.connectAsync(url, { clientId, connectTimeout: 5000, reconnectPeriod: 2000 });
  } catch (e) {
    throw new Error(`--mqtt ${url}: cannot connect: ${(e as Error).message}`);
  }
  return {
    url,
    publish: async (topic, payload, retain = true) => { await client.publishAsync(topic, payload, { qos: 1, retain }); },
    send: (topic, payload, retain, failed) => { client.publish(topic, payload, { qos: 1, retain }, (e) => { if (e) failed(e); }); },
    subscribe: async (filter, f) => {
      client.on("message", (topic, payload, packet) => { if (topicMatches(filter, topic)) f(topic, payload, !!packet.retain); });
      await client.subscribeAsync(filter, { qos: 1 });
    },
    close: async () => { await client.endAsync(); },
  };
}
