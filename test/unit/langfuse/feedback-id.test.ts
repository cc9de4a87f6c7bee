import { describe, expect, it } from 'vitest';
import {
  FEEDBACK_SCORE_NAMESPACE,
  feedbackScoreId,
  uuidV5,
} from '../../../src/adapters/langfuse/feedback.js';

const DNS_NAMESPACE = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

describe('uuidV5', () => {
  it('matches published UUIDv5 vectors', () => {
    // The RFC 4122 errata / RFC 9562 example and the `uuid` package's test vectors.
    expect(uuidV5('www.example.com', DNS_NAMESPACE)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    expect(uuidV5('http://example.com/hello', URL_NAMESPACE)).toBe('3bbcee75-cecc-5b56-8031-b6641c1ed1f1');
  });

  it('sets version 5 and the RFC variant', () => {
    for (const name of ['', 'a', 'ü', 'x'.repeat(10_000)]) {
      expect(uuidV5(name, FEEDBACK_SCORE_NAMESPACE)).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    }
  });

  it('refuses a namespace that is not a UUID', () => {
    expect(() => uuidV5('x', 'not-a-uuid')).toThrow(/UUID/);
  });
});

describe('feedbackScoreId', () => {
  it('is stable for one person on one trace and differs otherwise', () => {
    const id = feedbackScoreId('trace-1', 'person-a');
    expect(feedbackScoreId('trace-1', 'person-a')).toBe(id);
    expect(id).toBe(uuidV5('trace-1:person-a', FEEDBACK_SCORE_NAMESPACE));
    expect(feedbackScoreId('trace-1', 'person-b')).not.toBe(id);
    expect(feedbackScoreId('trace-2', 'person-a')).not.toBe(id);
  });
});
