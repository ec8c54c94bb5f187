// HTTP/1.1 on raw sockets, to see bytes exactly: a server that records each
// request head as bytes and answers with the bytes a test gives, a client
// that sends bytes and reads the response as bytes, and a reader of header
// lines. Node's own HTTP stack decodes and re-encodes header values; these
// helpers never do.

import { after } from "node:test";
import net, { type AddressInfo } from "node:net";

export interface RawRequestSeen {
  /** The request head as received (start line and header lines, without the blank line). */
  head: Buffer;
  body: Buffer;
}

export interface RawServer {
  url: string;
  seen: RawRequestSeen[];
  close(): Promise<void>;
}

/**
 * A server on raw sockets: records each request (head bytes, and a body of
 * content-length bytes) and answers with `reply`, a whole HTTP/1.1 response,
 * then closes the connection. Closed after the file's tests at the latest.
 */
export async function rawServer(reply: Buffer | ((req: RawRequestSeen) => Buffer)): Promise<RawServer> {
  const seen: RawRequestSeen[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
    let buf = Buffer.alloc(0);
    s.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end);
      const cl = /\r\ncontent-length: *(\d+)/i.exec(head.toString("latin1"));
      const want = cl ? Number(cl[1]) : 0;
      if (buf.length < end + 4 + want) return;
      const req = { head: Buffer.from(head), body: Buffer.from(buf.subarray(end + 4, end + 4 + want)) };
      seen.push(req);
      buf = Buffer.alloc(0);
      s.end(typeof reply === "function" ? reply(req) : reply);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closed ??= new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }));
  after(close);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close };
}

/** An HTTP/1.1 response that closes its connection; header values may be any bytes. */
export function rawResponse(
  status: string,
  headers: [string, string | Uint8Array][],
  body: string | Uint8Array,
): Buffer {
  const b = Buffer.from(body as any);
  const parts: Buffer[] = [Buffer.from(`HTTP/1.1 ${status}\r\n`, "latin1")];
  for (const [k, v] of headers) parts.push(Buffer.from(`${k}: `, "latin1"), Buffer.from(v as any), Buffer.from("\r\n"));
  parts.push(Buffer.from(`content-length: ${b.length}\r\nconnection: close\r\n\r\n`), b);
  return Buffer.concat(parts);
}

export interface RawReply {
  head: Buffer;
  body: Buffer;
}

/** Sends `request` (bytes; it should ask to close the connection) and reads the whole response. */
export function rawRequest(port: number, request: Buffer, timeoutMs = 5000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(request));
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`client timeout after ${timeoutMs} ms: no complete response`));
    }, timeoutMs);
    s.on("data", (c: Buffer) => parts.push(c));
    s.on("error", () => undefined);
    s.on("close", () => {
      clearTimeout(timer);
      const all = Buffer.concat(parts);
      const end = all.indexOf("\r\n\r\n");
      if (end < 0) reject(new Error(`no response head: ${JSON.stringify(all.toString("latin1"))}`));
      else resolve({ head: all.subarray(0, end), body: all.subarray(end + 4) });
    });
  });
}

/** A request from parts; header values may be any bytes. */
export function rawRequestBytes(
  method: string,
  target: string | Uint8Array,
  headers: [string, string | Uint8Array][],
  body?: string | Uint8Array,
): Buffer {
  const b = body === undefined ? undefined : Buffer.from(body as any);
  const parts: Buffer[] = [Buffer.from(`${method} `), Buffer.from(target as any), Buffer.from(" HTTP/1.1\r\n")];
  for (const [k, v] of headers) parts.push(Buffer.from(`${k}: `, "latin1"), Buffer.from(v as any), Buffer.from("\r\n"));
  if (b) parts.push(Buffer.from(`content-length: ${b.length}\r\n`));
  parts.push(Buffer.from("connection: close\r\n\r\n"));
  if (b) parts.push(b);
  return Buffer.concat(parts);
}

/** The header lines of a head (without the start line) as [lower-case name, value bytes]. */
export function headerLines(head: Buffer): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  let start = head.indexOf("\r\n");
  if (start < 0) return out;
  start += 2;
  while (start < head.length) {
    let end = head.indexOf("\r\n", start);
    if (end < 0) end = head.length;
    const line = head.subarray(start, end);
    const colon = line.indexOf(":");
    if (colon > 0) {
      let v = line.subarray(colon + 1);
      while (v.length && (v[0] === 0x20 || v[0] === 0x09)) v = v.subarray(1);
      out.push([line.subarray(0, colon).toString("latin1").toLowerCase(), Buffer.from(v)]);
    }
    start = end + 2;
  }
  return out;
}

/** The value bytes of every `name` line of a head. */
export function headerValues(head: Buffer, name: string): Buffer[] {
  return headerLines(head)
    .filter(([k]) => k === name)
    .map(([, v]) => v);
}

/** The start line of a head. */
export function startLine(head: Buffer): string {
  const end = head.indexOf("\r\n");
  return head.subarray(0, end < 0 ? head.length : end).toString("latin1");
}
