/*
 * A transparent PLC modem (ST7540, KQ-130F class) for host tests and the bench: bytes the
 * device writes go onto the line as one burst per write; bytes from the line, bit errors
 * and all, go to the device's UART as they are. It adds no framing and no check. Noise on
 * the UART (`noise`) can be injected at any time.
 */
import type { VirtualClock } from "./clock";
import type { MockUart } from "./uart";
import type { LineNode } from "./powerline";
import { bytesOf, latin1 } from "./native";

export class MockTransparentModem {
  readonly transmitted: Uint8Array[] = [];
  /** Bytes put before each frame delivered from the line (receiver noise). */
  garbage = "";
  private line: LineNode | null = null;

  constructor(private readonly clock: VirtualClock, private readonly uart: MockUart) {
    uart.onWrite = (s) => {
      const b = bytesOf(s);
      this.transmitted.push(b);
      if (this.line) this.line.transmit(b);
    };
  }

  attachLine(node: LineNode): void { this.line = node; }

  fromLine(bytes: Uint8Array, _snr: number, _corrupted: boolean): void {
    this.uart.inject(this.garbage + latin1(bytes));
  }

  noise(s: string): void { this.uart.inject(s); }
}
