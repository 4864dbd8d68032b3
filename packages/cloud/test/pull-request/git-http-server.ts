// A real git server for tests: `git http-backend` (smart HTTP) behind a small
// Node bridge on 127.0.0.1 that demands HTTP Basic auth with one token.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitHttpAttempt {
  method: string;
  path: string;
  service: string;
  auth: 'none' | 'ok' | 'bad';
}

export interface GitHttpServer {
  url: string;
  attempts: GitHttpAttempt[];
  close(): Promise<void>;
}

/** Serves every repository under `root` at `http://127.0.0.1:<port>/<name>`; `onPush` runs while a push's pack is being received. */
export async function startGitHttpServer(opts: { root: string; token: string; onPush?: () => Promise<void> | void }): Promise<GitHttpServer> {
  const attempts: GitHttpAttempt[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const service = url.searchParams.get('service') ?? url.pathname.split('/').pop() ?? '';
    const header = req.headers.authorization ?? '';
    const decoded = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : undefined;
    const auth = decoded === undefined ? 'none' : decoded.slice(decoded.indexOf(':') + 1) === opts.token ? 'ok' : 'bad';
    attempts.push({ method: req.method ?? '', path: url.pathname, service, auth });
    if (auth !== 'ok') {
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="lumenflow-test"', 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    if (req.method === 'POST' && url.pathname.endsWith('/git-receive-pack')) await opts.onPush?.();
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: opts.root,
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        REMOTE_USER: decoded?.slice(0, decoded.indexOf(':')) ?? 'user',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['content-encoding'] === undefined ? {} : { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) }),
        ...(req.headers['git-protocol'] === undefined ? {} : { GIT_PROTOCOL: String(req.headers['git-protocol']) }),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(child.stdin);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    await new Promise<void>((resolve) => child.on('close', () => resolve()));
    const out = Buffer.concat(chunks);
    const split = out.indexOf('\r\n\r\n');
    const headerText = out.subarray(0, split).toString('latin1');
    const body = out.subarray(split + 4);
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of headerText.split('\r\n')) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else if (name !== '') headers[name] = value;
    }
    res.writeHead(status, headers);
    res.end(body);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    attempts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
