// Request bodies for the fuzzer: JSON values with raw fragments spliced in verbatim, so a case can
// carry what JSON.stringify cannot produce (invalid UTF-8 inside a string, NaN literals, nesting far
// deeper than a recursive serialiser survives), and the request that carries them.
import { request } from "node:http";

/** Bytes written into the body as they are. */
export class Raw {
  constructor(readonly bytes: Uint8Array) {}
  static text(s: string): Raw {
    return new Raw(new TextEncoder().encode(s));
  }
  toJSON(): string {
    return `<raw ${this.bytes.length} bytes>`;
  }
}

export type Value = null | boolean | number | string | Raw | Value[] | { [key: string]: Value };

/** Serialises `v`; values are shallow (deep structures are Raw), so recursion is bounded. */
export function encode(v: Value): Uint8Array {
  const parts: Uint8Array[] = [];
  const te = new TextEncoder();
  const put = (x: Value): void => {
    if (x instanceof Raw) parts.push(x.bytes);
    else if (Array.isArray(x)) {
      parts.push(te.encode("["));
      x.forEach((e, i) => (i > 0 && parts.push(te.encode(",")), put(e)));
      parts.push(te.encode("]"));
    } else if (x !== null && typeof x === "object") {
      parts.push(te.encode("{"));
      Object.entries(x).forEach(([k, e], i) => {
        parts.push(te.encode(`${i > 0 ? "," : ""}${JSON.stringify(k)}:`));
        put(e);
      });
      parts.push(te.encode("}"));
    } else if (typeof x === "number" && !Number.isFinite(x)) {
      // JSON.stringify would write null, a valid value: keep the number's meaning.
      parts.push(te.encode(Number.isNaN(x) ? "NaN" : x > 0 ? "1e999" : "-1e999"));
    } else parts.push(te.encode(JSON.stringify(x)));
  };
  put(v);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

/** `[[[…]]]` or `{"a":{"a":…}}`, as text (no recursion anywhere). */
export function nested(depth: number, kind: "array" | "object"): Raw {
  return Raw.text(kind === "array" ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth));
}

/** A JSON string literal with bytes that are not UTF-8 in the middle. */
export function badUtf8String(prefix: string, bad: number[], suffix: string): Raw {
  const te = new TextEncoder();
  return new Raw(new Uint8Array([...te.encode(`"${prefix}`), ...bad, ...te.encode(`${suffix}"`)]));
}

/** Sequences no UTF-8 decoder may accept: a stray byte, a bad continuation, truncated, a surrogate, overlong, past U+10FFFF. */
export const BAD_UTF8: number[][] = [[0xff], [0xfe, 0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0x80]];

export interface FuzzRequest {
  method: string;
  /** Path and query. */
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  /** Send the body as a stream (chunked, no content-length). */
  chunked?: boolean;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * Sends a request on a connection of its own (node:http, no keep-alive): a server that answers 413
 * before reading a whole body closes that connection, and a pooled client would then fail the next
 * request on it. An error after the answer arrived (the rest of an oversized body hitting a closed
 * socket) is not a failure; no answer within `timeoutMs`, or none at all, throws (a hang is a failure).
 */
export function send(origin: string, r: FuzzRequest, timeoutMs = 15_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(r.path, origin);
    const headers: Record<string, string | number> = { ...r.headers, connection: "close" };
    if (r.body && !r.chunked) headers["content-length"] = r.body.length;
    let answered = false;
    const req = request({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: r.method, headers, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => (clearTimeout(timer), resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") })));
      res.on("error", (e) => (clearTimeout(timer), reject(e)));
    });
    const timer = setTimeout(() => (req.destroy(), reject(new Error(`no answer within ${timeoutMs} ms`))), timeoutMs);
    req.on("error", (e) => {
      if (answered) return;
      clearTimeout(timer);
      reject(e);
    });
    if (r.body && r.chunked) for (let i = 0; i < r.body.length; i += 16_384) req.write(r.body.subarray(i, i + 16_384));
    req.end(r.body && !r.chunked ? r.body : undefined);
  });
}

export interface EndlessAnswer extends Answer {
  /** Body bytes written into the socket before the answer came (socket buffers hold a few MB at most). */
  sent: number;
  /**
   * The server closed the connection while the body was still being written, and the reset reached
   * the client before its answer could be read (a race on loopback: the 413 was sent, then the close).
   */
  reset?: true;
}

/**
 * A chunked body of up to `offered` bytes, written as fast as the server reads it, and no more once the
 * answer is in: how a client would try to make a server buffer itself out of memory. A server that
 * counts the body as it streams answers after about its limit; one that reads it whole first, after all of it.
 */
export function sendEndless(origin: string, path: string, headers: Record<string, string>, offered: number): Promise<EndlessAnswer> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, origin);
    let sent = 0;
    let answered = false;
    const chunk = Buffer.alloc(16 * 1024, "x");
    const req = request({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: "POST", headers: { ...headers, connection: "close" }, agent: false }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(parts).toString("utf8"), sent }));
      res.on("error", reject);
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (answered) return;
      if (e.code === "ECONNRESET" || e.code === "EPIPE") resolve({ status: 0, headers: {}, text: "", sent, reset: true });
      else reject(e);
    });
    const pump = () => {
      while (!answered && sent < offered) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (!answered) req.end();
    };
    req.write('{"pad":"');
    pump();
  });
}
