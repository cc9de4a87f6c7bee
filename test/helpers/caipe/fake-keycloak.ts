/**
 * A fake Keycloak realm on 127.0.0.1 for on-behalf-of tests, written from the reference sheet
 * (caipe-current.md §1.4) and Keycloak's token-exchange form — it imports nothing from the product:
 *
 * - `POST /realms/<realm>/protocol/openid-connect/token`: `client_credentials` for the admin
 *   client; `urn:ietf:params:oauth:grant-type:token-exchange` with `requested_subject` (no
 *   `subject_token`, Keycloak's impersonation-style exchange) for the bot's client, minting
 *   `obo-<userId>-<n>`; a wrong client secret is 401 `unauthorized_client`; an unknown or disabled
 *   subject is 400.
 * - `GET /admin/realms/<realm>/users?q=webex_user_id:<id>&max=n` with the admin bearer: users whose
 *   attribute *contains* the value, as Keycloak's `q` search is not an exact match (so the bot must
 *   filter exact matches itself).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

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
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #adminTokens = new Set<string>();
  #url = '';
  #n = 0;

  private constructor(options: FakeKeycloakOptions) {
    this.#options = options;
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(options: FakeKeycloakOptions): Promise<FakeKeycloak> {
    const fake = new FakeKeycloak(options);
    fake.#server.listen(0, '127.0.0.1');
    await once(fake.#server, 'listening');
    fake.#url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  get url(): string {
    return this.#url;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
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
