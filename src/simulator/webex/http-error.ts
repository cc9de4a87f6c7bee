/** A Webex-shaped REST refusal; the server turns it into `{message, errors:[{description}], trackingId}`. */
export class SimHttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** When true the response body is empty (Webex sometimes sends 429 without a body). */
  readonly emptyBody: boolean;

  constructor(
    status: number,
    message: string,
    options: { headers?: Record<string, string>; emptyBody?: boolean } = {},
  ) {
    super(message);
    this.name = 'SimHttpError';
    this.status = status;
    this.headers = options.headers ?? {};
    this.emptyBody = options.emptyBody ?? false;
  }
}

export const MESSAGE_NOT_FOUND = 'Unable to get message.';
export const ROOM_NOT_FOUND = 'Could not find a room with provided ID.';
export const PERSON_NOT_FOUND = 'Could not find a person with provided ID.';
export const ACTION_NOT_FOUND = 'Could not find an attachment action with provided ID.';
export const MISSING_TOKEN =
  'The request requires a valid access token set in the Authorization request header.';
export const EXCESSIVE_DEVICES = 'User has excessive device registrations';
export const TOO_MANY_REQUESTS =
  'The user has sent too many requests in a given amount of time. Please refer to the Retry-After response header for details.';
