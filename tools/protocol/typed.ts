/*
 * Typed message bodies for host code and tests (types from tools/protocol/bodies.ts, made
 * from the wire catalogue by `npm run bodies`). The codec stays untyped on the device.
 */
import type { Msg } from "../../firmware/protocol/codec";
import type { Bodies } from "./bodies";

export type { Bodies } from "./bodies";

/** A decoded message whose body's type follows its `type`: `switch (tm.type)` narrows `tm.body`. */
export type TypedMsg = { [K in keyof Bodies]: Omit<Msg, "type" | "body"> & { type: K; body: Bodies[K] } }[keyof Bodies];

/** The same message, seen with its body typed by its type (no copy, no check: the codec decoded it by its layout). */
export function typed(m: Msg): TypedMsg {
  return m as unknown as TypedMsg;
}

/** The body of `m` when it is a message of type `type`, else null. */
export function bodyOf<K extends keyof Bodies>(m: Msg, type: K): Bodies[K] | null {
  return m.type === type ? (m.body as Bodies[K]) : null;
}
