import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REPLAY_PAGE_CSP } from './render-html.js';

/** The default port of `--serve`, and the base of the link in replay-link.txt. */
export const DEFAULT_REPLAY_PORT = 4173;

/** The default base URL written to replay-link.txt: where `--serve` listens. */
export const DEFAULT_REPLAY_BASE_URL = `http://127.0.0.1:${DEFAULT_REPLAY_PORT}`;

/** A running Replay server. */
export interface ReplayServer {
  /** The page's URL, `http://127.0.0.1:<port>/runs/<runId>`. */
  url: string;
  port: number;
  /** Stops accepting connections, drops idle ones, and resolves when closed. */
  close(): Promise<void>;
}

/** `<base>/runs/<runId>`, the page of one run; what replay-link.txt holds (plus a newline). */
export function buildReplayUrl(baseUrl: string, runId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/runs/${encodeURIComponent(runId)}`;
}

/**
 * Serves one rendered Replay page on 127.0.0.1: `/runs/<runId>` is the page and
 * `/` redirects to it; anything else is 404. Requests whose Host is not this
 * loopback address are refused, so a DNS-rebinding page cannot read the report.
 *
 * @throws {RangeError} when the port is not an integer from 0 to 65535.
 * @throws the listen error (e.g. EADDRINUSE) when the port is taken.
 */
export async function startReplayServer(opts: { html: string; runId: string; port?: number }): Promise<ReplayServer> {
  const port = opts.port ?? DEFAULT_REPLAY_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError('startReplayServer: port must be an integer from 0 to 65535');
  const page = Buffer.from(opts.html, 'utf8');
  const pagePath = `/runs/${encodeURIComponent(opts.runId)}`;
  let allowedHosts = new Set<string>();

  // Loaded here, not when the CLI starts: only `replay --serve` listens.
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => handle(req, res));
  function handle(req: IncomingMessage, res: ServerResponse): void {
    const send = (status: number, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (!allowedHosts.has((req.headers.host ?? '').toLowerCase())) return send(421, 'misdirected request\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/') return send(302, `see ${pagePath}\n`, { Location: pagePath });
    if (path !== pagePath) return send(404, 'not found\n');
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': String(page.byteLength),
      'Content-Security-Policy': `${REPLAY_PAGE_CSP}; frame-ancestors 'none'`,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : page);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  allowedHosts = new Set([`127.0.0.1:${bound}`, `localhost:${bound}`]);
  return {
    url: `http://127.0.0.1:${bound}${pagePath}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeIdleConnections();
      }),
  };
}
