import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LoopbackServer, startLoopbackServer } from '../loopback-server.js';

export interface KeycloakUser {
  id: string;
  username: string;
  email: string;
  enabled: boolean;
  attributes?: Record<string, string[]>;
}

export interface KeycloakCall {
  method: string;
  path: string;
  query: URLSearchParams;
  form?: URLSearchParams;
  authorization?: string;
}

export interface FakeKeycloakOptions {
  realm: string;
  users: KeycloakUser[];
  clients: Record<string, string>;
  adminClientId: string;
  exchangeClientId: string;
}

export class FakeKeycloak {
  readonly calls: KeycloakCall[] = [];
  /** Minted on-behalf-of token → the user it stands for. */
  readonly minted = new Map<string, KeycloakUser>();
  /** Answer every request with this status (Keycloak down or broken). */
  failWith: number | undefined;
  readonly #options: FakeKeycloakOptions;
  #http!: LoopbackServer;
  readonly #adminTokens = new Set<string>();
  #n = 0;

  private constructor(options: FakeKeycloakOptions) {
    this.#options = options;
  }

  static async start(options: FakeKeycloakOptions): Promise<FakeKeycloak> {
    const fake = new FakeKeycloak(options);
    fake.#http = await startLoopbackServer((req, res) => void fake.#handle(req, res));
    return fake;
  }

  get url(): string {
    return this.#http.url;
  }

  async close(): Promise<void> {
    await this.#http.close();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://keycloak');
    const text = Buffer.concat(chunks).toString('utf8');
    const call: KeycloakCall = {
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      ...(text ? { form: new URLSearchParams(text) } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    };
    this.calls.push(call);
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (this.failWith)
      return json(this.failWith, { error: 'server_error', error_description: 'down for maintenance' });
    const realm = this.#options.realm;
    if (req.method === 'POST' && url.pathname === `/realms/${realm}/protocol/openid-connect/token`) {
      const form = call.form ?? new URLSearchParams();
      const clientId = form.get('client_id') ?? '';
      if (
        this.#options.clients[clientId] === undefined ||
        this.#options.clients[clientId] !== form.get('client_secret')
      ) {
        return json(401, {
          error: 'unauthorized_client',
          error_description: 'Invalid client or Invalid client credentials',
        });
      }
      const grant = form.get('grant_type');
      if (grant === 'client_credentials' && clientId === this.#options.adminClientId) {
        const token = `admin-${++this.#n}`;
        this.#adminTokens.add(token);
        return json(200, { access_token: token, token_type: 'Bearer', expires_in: 300 });
      }
      if (
        grant === 'urn:ietf:params:oauth:grant-type:token-exchange' &&
        clientId === this.#options.exchangeClientId
      ) {
        const user = this.#options.users.find((u) => u.id === form.get('requested_subject'));
        if (!user?.enabled || form.has('subject_token')) {
          return json(400, { error: 'invalid_request', error_description: 'requested subject not found' });
        }
        const token = `obo-${user.id}-${++this.#n}`;
        this.minted.set(token, user);
        return json(200, {
          access_token: token,
          token_type: 'Bearer',
          expires_in: 300,
          issued_token_type: form.get('requested_token_type'),
        });
      }
      return json(400, { error: 'unsupported_grant_type' });
    }
    if (req.method === 'GET' && url.pathname === `/admin/realms/${realm}/users`) {
      const bearer = /^Bearer (.+)$/.exec(call.authorization ?? '')?.[1];
      if (!bearer || !this.#adminTokens.has(bearer)) return json(401, { error: 'HTTP 401 Unauthorized' });
      const q = url.searchParams.get('q') ?? '';
      const [attribute, value] = q.split(':', 2) as [string, string | undefined];
      const max = Number(url.searchParams.get('max') ?? '100');
      const found = this.#options.users.filter((u) =>
        (u.attributes?.[attribute] ?? []).some((v) => value !== undefined && v.includes(value)),
      );
      return json(200, found.slice(0, max));
    }
    return json(404, { error: 'not found' });
  }
}
