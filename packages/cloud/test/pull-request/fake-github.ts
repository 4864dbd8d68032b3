// A fake of the GitHub REST API's pull-request endpoints for tests, on 127.0.0.1.
// It checks what the real API checks (token, user agent, JSON bodies, allowed
// fields, repository, head branch, duplicates) and records every call.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GithubCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorized: boolean;
}

export interface FakePull {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  draft: boolean;
  reviewers: string[];
}

export interface FakeGithub {
  url: string;
  calls: GithubCall[];
  pulls: FakePull[];
  close(): Promise<void>;
}

const CREATE_FIELDS = new Set(['title', 'head', 'base', 'body', 'draft', 'maintainer_can_modify', 'issue', 'head_repo']);

export async function startFakeGithub(opts: {
  token: string;
  repo: string;
  /** Whether the pushed repository has this branch (GitHub refuses a head that does not exist). */
  branchExists: (branch: string) => Promise<boolean>;
  /** Answer every call with this status instead (e.g. 500 outage). */
  failStatus?: number;
}): Promise<FakeGithub> {
  const calls: GithubCall[] = [];
  const pulls: FakePull[] = [];
  const [owner] = opts.repo.split('/');
  let base = '';
  const render = (p: FakePull): Record<string, unknown> => ({
    number: p.number,
    url: `${base}/repos/${opts.repo}/pulls/${p.number}`,
    html_url: `https://github.example/${opts.repo}/pull/${p.number}`,
    state: 'open',
    title: p.title,
    body: p.body,
    draft: p.draft,
    head: { ref: p.head, label: `${owner}:${p.head}` },
    base: { ref: p.base },
    requested_reviewers: p.reviewers.map((login) => ({ login })),
  });
  const send = (res: ServerResponse, status: number, value: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(value));
  };
  const readBody = async (req: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const text = await readBody(req);
    let body: unknown = undefined;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        calls.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), body: text, authorized: false });
        return send(res, 400, { message: 'Problems parsing JSON' });
      }
    }
    const auth = req.headers.authorization ?? '';
    const authorized = auth === `token ${opts.token}` || auth === `Bearer ${opts.token}` || auth === `bearer ${opts.token}`;
    calls.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), body, authorized });
    if (opts.failStatus !== undefined) return send(res, opts.failStatus, { message: 'Server Error' });
    if ((req.headers['user-agent'] ?? '') === '') return send(res, 403, { message: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header' });
    if (!authorized) return send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    const prefix = `/repos/${opts.repo}/pulls`;
    if (!url.pathname.startsWith(prefix)) return send(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    const rest = url.pathname.slice(prefix.length);
    if (rest === '' && req.method === 'POST') {
      if ((req.headers['content-type'] ?? '').split(';')[0] !== 'application/json' || typeof body !== 'object' || body === null || Array.isArray(body)) {
        return send(res, 400, { message: 'Problems parsing JSON' });
      }
      const fields = body as Record<string, unknown>;
      const unknown = Object.keys(fields).filter((k) => !CREATE_FIELDS.has(k));
      if (unknown.length > 0) return send(res, 422, { message: 'Validation Failed', errors: unknown.map((field) => ({ resource: 'PullRequest', field, code: 'unexpected' })) });
      const { title, head, base: baseRef, body: prBody, draft } = fields;
      if (typeof title !== 'string' || typeof head !== 'string' || typeof baseRef !== 'string' || (prBody !== undefined && typeof prBody !== 'string') || (draft !== undefined && typeof draft !== 'boolean')) {
        return send(res, 422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'missing_field' }] });
      }
      if (!(await opts.branchExists(head))) return send(res, 422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }] });
      if (pulls.some((p) => p.head === head && p.base === baseRef)) {
        return send(res, 422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${owner}:${head}.` }] });
      }
      const pull: FakePull = { number: pulls.length + 1, title, body: prBody ?? '', head, base: baseRef, draft: draft ?? false, reviewers: [] };
      pulls.push(pull);
      return send(res, 201, render(pull));
    }
    if (rest === '' && req.method === 'GET') {
      const headQuery = url.searchParams.get('head');
      const baseQuery = url.searchParams.get('base');
      const found = pulls.filter((p) => (headQuery === null || `${owner}:${p.head}` === headQuery) && (baseQuery === null || p.base === baseQuery));
      return send(res, 200, found.map(render));
    }
    const reviewers = /^\/(\d+)\/requested_reviewers$/.exec(rest);
    if (reviewers?.[1] !== undefined && req.method === 'POST') {
      const pull = pulls.find((p) => p.number === Number(reviewers[1]));
      if (pull === undefined) return send(res, 404, { message: 'Not Found' });
      const list = (body as { reviewers?: unknown } | undefined)?.reviewers;
      if (!Array.isArray(list) || !list.every((r) => typeof r === 'string')) return send(res, 422, { message: 'Validation Failed' });
      pull.reviewers = [...new Set([...pull.reviewers, ...(list as string[])])];
      return send(res, 201, render(pull));
    }
    return send(res, 404, { message: 'Not Found' });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, { message: 'fake failed' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  return { url: base, calls, pulls, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
