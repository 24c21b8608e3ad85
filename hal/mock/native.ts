/*
 * The host's Native (hal/host/native.ts) for tests and the bench, under the mocks' roof:
 * host tools import it from hal/host, never from hal/mock.
 */
export * from "../host/native";
