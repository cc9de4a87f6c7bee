/** The People API: what the bot reads about a person. */
import type { WebexRestClient } from './rest.js';

/** A person's primary email; a card action names only the person id. */
export async function lookupEmail(
  rest: Pick<WebexRestClient, 'get'>,
  personId: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const person = await rest.get<{ emails?: string[] }>(`/people/${encodeURIComponent(personId)}`, {
    route: 'GET /people/{id}',
    ...(signal ? { signal } : {}),
  });
  return person.emails?.[0];
}
