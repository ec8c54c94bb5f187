// One mock LLM server: records every request, picks the behaviour (queued
// first, else the current one), answers, and writes the answer as the
// behaviour says (latency, chunks, gzip, a reset, a close mid-body).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { gzipSync } from "node:zlib";
import type { AddressInfo, Socket } from "node:net";
import { buildAnswer } from "./answer.ts";
import { MOCK_HEADER, MOCK_HEADER_VALUE, errorBody, lastUserMessage } from "./content.ts";
import type { Flavor } from "./flavors.ts";
import type { MockBehavior, MockOptions, MockServer, RecordedRequest } from "./types.ts";

/** The state of one running mock. */
class Mock {
  readonly requests: RecordedRequest[] = [];
  readonly queue: MockBehavior[] = [];
  behavior: MockBehavior;
  closed = false;
  private seq = 0;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly server: Server;

  constructor(
    readonly flavor: Flavor,
    readonly opts: MockOptions,
  ) {
    this.behavior = opts.behavior ?? {};
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        this.log(`internal error: ${err && err.message}`);
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { "content-type": "application/json", [MOCK_HEADER]: MOCK_HEADER_VALUE });
          res.end(errorBody(500, `mock internal error: ${err && err.message}`));
        } else {
          res.destroy();
        }
      });
    });
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  log(line: string): void {
    this.opts.onLog?.(`[mock] ${this.flavor.name} ${line}`);
  }

  sleep(ms: number | undefined): Promise<void> {
    if (!ms || ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    return new Promise<void>((done) => {
      this.server.close(() => done());
      for (const s of this.sockets) s.destroy();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const rec = await record(req);
    this.requests.push(rec);
    const pathname = rec.path.split("?")[0];

    const finish = (status: number | string) => {
      const model = rec.json && typeof rec.json.model === "string" ? ` model=${rec.json.model}` : "";
      const user = lastUserMessage(rec.json);
      const preview = user ? " " + JSON.stringify(user.length > 60 ? user.slice(0, 57) + "..." : user) : "";
      const auth = rec.headers["authorization"] ? " auth=Bearer ***" : "";
      this.log(`${rec.method} ${rec.path} -> ${status} in ${Date.now() - started} ms${model}${auth}${preview}`);
    };

    if (rec.method !== "POST" || !pathname.endsWith("/chat/completions")) {
      const text = errorBody(
        404,
        `mock: no route for ${rec.method} ${pathname}; the mock answers POST */chat/completions`,
      );
      this.send(res, 404, "application/json", [Buffer.from(text)], {}, false, () => finish(404));
      return;
    }

    const b = this.queue.length > 0 ? this.queue.shift()! : this.behavior;

    await this.sleep(b.latencyMs);
    if (this.closed || res.destroyed) return;

    if (b.malformed === "reset") {
      const sock = req.socket as Socket & { resetAndDestroy?: () => void };
      if (typeof sock.resetAndDestroy === "function") sock.resetAndDestroy();
      else sock.destroy();
      finish("reset");
      return;
    }

    const answer = buildAnswer(this.flavor, b, rec, this.opts.model, () => ++this.seq);
    const status = answer.status;
    const onDone = () => finish(b.malformed === "close-mid-body" ? `${status} (closed mid-body)` : status);
    this.send(res, status, answer.contentType, answer.pieces, b, answer.streamed, onDone);
  }

  /** Writes an answer as the behaviour says: gzip, chunks with delays, or half of it and a closed connection. */
  private send(
    res: ServerResponse,
    status: number,
    contentType: string,
    pieces: Buffer[],
    b: MockBehavior,
    streamed: boolean,
    onDone: () => void,
  ): void {
    let body = Buffer.concat(pieces);
    const headers: Record<string, string> = { "content-type": contentType, [MOCK_HEADER]: MOCK_HEADER_VALUE };
    if (b.gzip) {
      body = gzipSync(body);
      pieces = [body];
      headers["content-encoding"] = "gzip";
    }
    if (streamed) headers["cache-control"] = "no-cache";
    else headers["content-length"] = String(body.length);
    Object.assign(headers, b.headers ?? {});

    if (b.chunkSize && b.chunkSize > 0) {
      pieces = [];
      for (let i = 0; i < body.length; i += b.chunkSize) pieces.push(body.subarray(i, i + b.chunkSize));
    }
    const midBody = b.malformed === "close-mid-body";
    if (midBody) pieces = firstHalf(pieces, body.length);

    res.writeHead(status, headers);
    const write = (p: Buffer) => new Promise<void>((resolve) => (p.length ? res.write(p, () => resolve()) : resolve()));
    (async () => {
      if (pieces.length === 0 || (pieces.length === 1 && !midBody)) {
        if (pieces.length && !midBody) res.end(pieces[0]);
        else res.flushHeaders();
      } else {
        for (let i = 0; i < pieces.length; i++) {
          if (this.closed || res.destroyed) return;
          await write(pieces[i]);
          if (i < pieces.length - 1) await this.sleep(b.chunkDelayMs);
        }
      }
      if (midBody) {
        // Let the half body reach the socket, then cut the connection.
        await this.sleep(5);
        res.destroy();
      } else if (!res.writableEnded) {
        res.end();
      }
      onDone();
    })().catch(() => res.destroy());
  }
}

/** Reads a request into a RecordedRequest (json set when the body parses). */
async function record(req: IncomingMessage): Promise<RecordedRequest> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks).toString("utf8");
  const rec: RecordedRequest = {
    method: req.method ?? "",
    path: req.url ?? "",
    headers: { ...(req.headers as Record<string, string | string[]>) },
    body,
  };
  try {
    rec.json = JSON.parse(body);
  } catch {
    // not JSON: json stays undefined
  }
  return rec;
}

/** The pieces (cut as needed) that make up the first half of a body of `size` bytes. */
function firstHalf(pieces: Buffer[], size: number): Buffer[] {
  let budget = Math.floor(size / 2);
  const half: Buffer[] = [];
  for (const p of pieces) {
    if (budget <= 0) break;
    half.push(p.subarray(0, budget));
    budget -= Math.min(p.length, budget);
  }
  return half;
}

/** Starts a mock server of this flavour; resolves once it listens. */
export function startMock(flavor: Flavor, opts: MockOptions): Promise<MockServer> {
  const host = opts.host ?? "127.0.0.1";
  const mock = new Mock(flavor, opts);
  const { server } = mock;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      const port = (server.address() as AddressInfo).port;
      const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
      resolve({
        url: `http://${urlHost}:${port}`,
        port,
        requests: mock.requests,
        set(b: MockBehavior) {
          mock.behavior = b ?? {};
        },
        enqueue(b: MockBehavior) {
          mock.queue.push(b ?? {});
        },
        close: () => mock.close(),
      });
    });
  });
}
