// Where `npm start` listens: the port and address asked for (--port / PORT,
// --host), else the config's. A port asked for must be free; the default
// one falls back to any free port when busy. An address this machine cannot
// listen on is an error that says so.

import { createServer } from "node:net";
import { CliError } from "./args.ts";

export interface ListenAt {
  port: number;
  host: string;
}

/** Tries to listen there: null when it could, else the error code and message. */
export function probe(port: number, host: string): Promise<{ code: string; message: string } | null> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", (e: NodeJS.ErrnoException) => done({ code: e.code ?? "", message: e.message }));
    server.listen({ port, host, exclusive: true }, () => server.close(() => done(null)));
  });
}

/** The error for a port or address the gateway cannot listen on. */
export function listenError(at: ListenAt, code: string, message: string, hostSource: string): CliError {
  if (code === "EADDRINUSE")
    return new CliError(
      `port ${at.port} on ${at.host} is busy; free it or ask for another one (--port 0: any free port)`,
    );
  if (code === "EACCES") return new CliError(`port ${at.port} on ${at.host}: permission denied (${message})`);
  return new CliError(`${hostSource} ${at.host} is not a valid address to listen on (${message})`);
}

/**
 * The port and address to listen on. `requestedPort` is the port asked for
 * (--port or PORT): busy is an error. Otherwise `defaultPort` is used and a
 * busy one becomes 0 (any free port), which `onFallback` reports.
 */
export async function chooseListen(
  requestedPort: number | undefined,
  defaultPort: number,
  host: string,
  hostSource: string,
  onFallback: (line: string) => void,
): Promise<ListenAt> {
  const at = { port: requestedPort ?? defaultPort, host };
  const problem = await probe(at.port, host);
  if (!problem) return at;
  if (problem.code === "EADDRINUSE" && requestedPort === undefined && at.port !== 0) {
    onFallback(`Port ${at.port} on ${host} is busy; using a free port instead.`);
    return { port: 0, host };
  }
  throw listenError(at, problem.code, problem.message, hostSource);
}
