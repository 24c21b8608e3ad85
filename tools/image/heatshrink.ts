/*
 * heatshrink as the Espruino 2v29 interpreter's require("heatshrink") writes and reads it,
 * for the host (images are compressed here, decompressed on the meter).
 *
 * The format (LZSS, as libs/compression/heatshrink in the interpreter's source builds it):
 * a window of 2^8 bytes, a lookahead of 2^6 bytes, no header, bits most significant first.
 * Each token is a tag bit, then
 *   1: a literal, 8 bits
 *   0: a back-reference, 8 bits (distance - 1, so 1 to 256 bytes back), 6 bits (length - 1,
 *      so 1 to 64 bytes; the encoder writes 2 and up); it may overlap what it writes
 * and the last byte is filled with zero bits. The window starts as 256 zero bytes on both
 * sides, so a back-reference may reach before the first byte and read zeros: the
 * interpreter's encoder writes data that starts with zeros that way.
 *
 * compress() makes the interpreter's choices (the same match search: at each position
 * the longest match within the window, up to 64 bytes and no further than the input's
 * end, the nearest of equal length; a match only when 2 bytes or longer, since a
 * back-reference costs 15 bits and a literal 9), so its output is byte-identical to the
 * interpreter's compress() for every input, except where the interpreter's is wrong:
 * the interpreter's driver (compress_heatshrink.c) polls the encoder into a 128-byte
 * buffer and, when the last token is a literal whose byte fills that buffer exactly,
 * returns before the final partly filled byte is written. Its output then lacks its last
 * byte, and its own decompress() gives the input without its last byte (measured on
 * 2v29: 15 of the lengths 1 to 1,500 of random bytes, fewer for text). compress() always
 * writes that byte: it is one byte longer than the interpreter's there, and it
 * decompresses to the whole input on the interpreter. interpreterCompress() models the
 * flaw, to check fixtures made by the interpreter byte for byte; it is never for images.
 *
 * decompress() reads what the interpreter reads, but strictly: the interpreter's decoder
 * stops silently where the bits run out and takes any bytes added as more tokens, so a
 * cut or extended stream gives it shorter or longer output and no error. decompress()
 * throws a HeatshrinkError instead when the stream does not end as an encoder ends it
 * (anything after the last whole token but fewer than 8 zero bits), holds a back-reference
 * no encoder writes (1 byte long), or gives other than the size the caller expects. Every
 * token takes at least 9 bits, so it always ends. Any bits read as tokens, so the format
 * cannot tell all damage: the expected size and the image's digest do.
 */

/** The interpreter's parameters (heatshrink_config.h: HEATSHRINK_STATIC_WINDOW_BITS and _LOOKAHEAD_BITS). */
export const WINDOW_BITS = 8;
export const LOOKAHEAD_BITS = 6;

const WINDOW = 1 << WINDOW_BITS;
const LOOKAHEAD = 1 << LOOKAHEAD_BITS;
const LITERAL_BITS = 1 + 8;
const BACKREF_BITS = 1 + WINDOW_BITS + LOOKAHEAD_BITS;
/** A back-reference pays only when it covers more bytes than its bits fill (the encoder's break-even point). */
const MIN_MATCH = Math.floor(BACKREF_BITS / 8) + 1;

/**
 * truncated: the stream does not end as an encoder ends it; corrupt: it holds a token no
 * encoder writes (a back-reference shorter than MIN_MATCH); size: the output is not the size expected.
 */
export type HeatshrinkFault = "truncated" | "corrupt" | "size";

/** A stream decompress() will not take; `reason` says why, the message where. */
export class HeatshrinkError extends Error {
  override name = "HeatshrinkError";
  constructor(readonly reason: HeatshrinkFault, message: string) {
    super(`heatshrink: ${message}`);
  }
}

/** One token of the compressed stream, as the encoder chose it. */
interface Token {
  /** Input bytes it covers: 1 for a literal. */
  length: number;
  /** Bytes back for a back-reference; 0 for a literal. */
  distance: number;
}

/** The encoder's choice at each position of `data`. */
function tokens(data: Uint8Array): Token[] {
  // the input behind the window's 256 zero bytes, so that distances index it directly
  const buf = new Uint8Array(WINDOW + data.length);
  buf.set(data, WINDOW);
  const out: Token[] = [];
  for (let p = 0; p < data.length; ) {
    const at = WINDOW + p;
    const max = Math.min(LOOKAHEAD, data.length - p);
    let best = 0, bestDistance = 0;
    // nearest first: a farther match replaces it only when strictly longer
    for (let d = 1; d <= WINDOW && best < max; d++) {
      const from = at - d;
      if (buf[from + best] !== buf[at + best]) continue; // cannot beat best
      let n = 0;
      while (n < max && buf[from + n] === buf[at + n]) n++;
      if (n > best) { best = n; bestDistance = d; }
    }
    if (best >= MIN_MATCH) { out.push({ length: best, distance: bestDistance }); p += best; }
    else { out.push({ length: 1, distance: 0 }); p++; }
  }
  return out;
}

const bitsOf = (t: Token) => (t.distance ? BACKREF_BITS : LITERAL_BITS);

/** Writes the tokens of `data` as bits, most significant first, the last byte zero-filled. */
function write(data: Uint8Array, toks: Token[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(toks.reduce((s, t) => s + bitsOf(t), 0) / 8));
  let bit = 0;
  const put = (value: number, count: number) => {
    for (let i = count - 1; i >= 0; i--, bit++) if ((value >> i) & 1) out[bit >> 3] |= 0x80 >> (bit & 7);
  };
  let p = 0;
  for (const t of toks) {
    if (t.distance) { put(0, 1); put(t.distance - 1, WINDOW_BITS); put(t.length - 1, LOOKAHEAD_BITS); }
    else { put(1, 1); put(data[p], 8); }
    p += t.length;
  }
  return out;
}

/** `data` compressed: the interpreter's compress() output byte for byte, with the last byte it sometimes loses (see the header). */
export function compress(data: Uint8Array): Uint8Array {
  return write(data, tokens(data));
}

/**
 * What the interpreter's compress() returns for `data`, its flaw included: compress()'s
 * output without its last byte when the interpreter's driver loses it. For checking the
 * interpreter's fixtures; never for an image (it may not decompress to `data`).
 *
 * The driver (compress_heatshrink.c heatshrink_encode_cb) reads the input 128 bytes at a
 * time and sinks it into the encoder's 256-byte input buffer; a full buffer is encoded up
 * to its last 64 bytes (the lookahead), which move to the front for the next fill; once
 * the input is all sunk, the encoder is told to finish and the rest is encoded in one
 * last run of polls into a 128-byte output buffer. The last partly filled byte is lost
 * when the last token is a literal whose byte fills that output buffer exactly.
 */
export function interpreterCompress(data: Uint8Array): Uint8Array {
  const toks = tokens(data);
  const full = write(data, toks);
  // the driver's input and output buffers (compress_heatshrink.c BUFFERSIZE)
  const READ = 128, POLL = 128;
  // Replay the driver to find the bits written before its last run of polls: each time the
  // encoder's buffer fills before the input ends, it encodes while its scan position is at
  // most WINDOW - LOOKAHEAD into the buffer, then moves the rest to the front.
  let read = 0, pending = 0, ended = false, held = 0, start = 0;
  let t = 0, at = 0, bitsBefore = 0; // the first token not yet encoded, where it starts, the bits before it
  for (;;) {
    if (pending === 0) { pending = Math.min(READ, data.length - read); read += pending; ended = pending < READ; }
    const sunk = Math.min(WINDOW - held, pending);
    held += sunk; pending -= sunk;
    if (pending === 0 && ended) break; // the encoder is told to finish: the rest in one run
    if (held < WINDOW) continue;
    while (at - start <= WINDOW - LOOKAHEAD) { bitsBefore += bitsOf(toks[t]); at += toks[t++].length; }
    held -= at - start;
    start = at;
  }
  const bitsAll = toks.reduce((s, x) => s + bitsOf(x), 0);
  const bytesInLastRun = Math.floor(bitsAll / 8) - Math.floor(bitsBefore / 8);
  const last = toks[toks.length - 1];
  const lost = last !== undefined && !last.distance && bitsAll % 8 !== 0 && bytesInLastRun > 0 && bytesInLastRun % POLL === 0;
  return lost ? full.subarray(0, full.length - 1) : full;
}

/**
 * The bytes `stream` decompresses to, as the interpreter's decompress() gives them for a
 * stream an encoder wrote. A HeatshrinkError when the stream does not end as an encoder
 * ends it, or (with `size`) when the output is not `size` bytes: it stops as soon as the
 * output would pass `size`.
 */
export function decompress(stream: Uint8Array, size?: number): Uint8Array {
  const totalBits = stream.length * 8;
  let bit = 0;
  const take = (count: number) => {
    let v = 0;
    for (let i = 0; i < count; i++, bit++) v = (v << 1) | ((stream[bit >> 3] >> (7 - (bit & 7))) & 1);
    return v;
  };
  // at most 64 bytes per 15 bits; the window's zeros in front, as the decoder starts
  const limit = size ?? Math.floor(totalBits / BACKREF_BITS) * LOOKAHEAD + LOOKAHEAD;
  let out = new Uint8Array(WINDOW + Math.min(limit, Math.max(stream.length * 2, 64)));
  let n = WINDOW;
  const room = (k: number) => {
    if (n - WINDOW + k > limit) throw new HeatshrinkError("size", `the output passes the ${size} bytes expected (at byte ${bit >> 3} of ${stream.length})`);
    if (n + k > out.length) { const grown = new Uint8Array(Math.max(out.length * 2, n + k)); grown.set(out.subarray(0, n)); out = grown; }
  };
  const unfinished = (left: number) => {
    const at = totalBits - left;
    return new HeatshrinkError("truncated", `the stream ends inside a token: its last ${left} bits (from byte ${at >> 3} of ${stream.length}) are not the fewer than 8 zero bits an encoder ends with: cut short, or bytes added after its end`);
  };
  for (;;) {
    const left = totalBits - bit;
    if (left < LITERAL_BITS) {
      // the encoder's padding, fewer than 8 zero bits, is the only way to end: the interpreter reads it as an unfinished back-reference
      if (left === 0) break;
      if (left >= 8 || take(left)) throw unfinished(left);
      break;
    }
    if (take(1)) {
      room(1);
      out[n++] = take(8);
      continue;
    }
    if (left < BACKREF_BITS) throw unfinished(left);
    const distance = take(WINDOW_BITS) + 1, length = take(LOOKAHEAD_BITS) + 1;
    // the interpreter would copy it; no encoder writes it, so it is damage (a literal is shorter)
    if (length < MIN_MATCH) throw new HeatshrinkError("corrupt", `a back-reference of ${length} byte at byte ${(bit - BACKREF_BITS) >> 3} of ${stream.length}: no encoder writes one`);
    room(length);
    // byte by byte: a back-reference may overlap what it writes
    for (let i = 0; i < length; i++, n++) out[n] = out[n - distance];
  }
  if (size !== undefined && n - WINDOW !== size) throw new HeatshrinkError("size", `the output is ${n - WINDOW} bytes, ${size} expected`);
  return out.slice(WINDOW, n);
}
