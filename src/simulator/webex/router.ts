import type { IncomingMessage } from 'node:http';
import type { Person } from './model.js';

/** A tiny method + template router; templates use `{name}` for one path segment. */

export interface RouteContext {
  req: IncomingMessage;
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  /** The person the bearer token belongs to; always set on routes that require auth. */
  caller: Person;
  trackingId: string;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteDef {
  method: string;
  template: string;
  /** False only for the simulator's own control plane. */
  auth?: boolean;
  handle(ctx: RouteContext): RouteResult | Promise<RouteResult>;
}

interface CompiledRoute {
  def: RouteDef;
  pattern: RegExp;
  names: string[];
}

export interface RouteMatch {
  def: RouteDef;
  params: Record<string, string>;
}

export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(defs: RouteDef[]): void {
    for (const def of defs) {
      const names: string[] = [];
      const source = def.template
        .split('/')
        .map((segment) => {
          const name = /^\{(\w+)\}$/.exec(segment)?.[1];
          if (!name) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(name);
          return '([^/]+)';
        })
        .join('/');
      this.routes.push({ def, pattern: new RegExp(`^${source}/?$`), names });
    }
    // Literal segments win over parameters (`/v1/messages/direct` before `/v1/messages/{id}`).
    this.routes.sort((a, b) => a.names.length - b.names.length);
  }

  /** `undefined` when no template matches; `'method'` when a template matches another method. */
  match(method: string, path: string): RouteMatch | 'method' | undefined {
    let templateMatched = false;
    for (const route of this.routes) {
      const found = route.pattern.exec(path);
      if (!found) continue;
      templateMatched = true;
      if (route.def.method !== method) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, index) => {
        params[name] = decodeURIComponent(found[index + 1] ?? '');
      });
      return { def: route.def, params };
    }
    return templateMatched ? 'method' : undefined;
  }

  templateFor(path: string): string | undefined {
    return this.routes.find((route) => route.pattern.test(path))?.def.template;
  }
}
