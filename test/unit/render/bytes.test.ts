import { describe, expect, it } from 'vitest';
import {
  fits,
  isCodePointBoundary,
  tailToFit,
  truncateToFit,
  truncateWithEllipsis,
  utf8ByteLength,
  WEBEX_MESSAGE_BYTE_LIMIT,
} from '../../../src/render/bytes.js';

describe('bytes', () => {
  it('counts UTF-8 bytes as Webex does', () => {
    expect(WEBEX_MESSAGE_BYTE_LIMIT).toBe(7439);
    expect(utf8ByteLength('abc')).toBe(3);
    expect(utf8ByteLength('é')).toBe(2);
    expect(utf8ByteLength('漢')).toBe(3);
    expect(utf8ByteLength('😀')).toBe(4);
    expect(utf8ByteLength('👨‍👩‍👧')).toBe(18);
  });

  it('checks both limits', () => {
    expect(fits('😀😀', { maxChars: 4, maxBytes: 8 })).toBe(true);
    expect(fits('😀😀', { maxChars: 3, maxBytes: 8 })).toBe(false);
    expect(fits('😀😀', { maxChars: 4, maxBytes: 7 })).toBe(false);
    expect(fits('a'.repeat(7440), { maxChars: 10_000 })).toBe(false);
  });

  it('knows where a surrogate pair sits', () => {
    expect(isCodePointBoundary('a😀b', 1)).toBe(true);
    expect(isCodePointBoundary('a😀b', 2)).toBe(false);
    expect(isCodePointBoundary('a😀b', 3)).toBe(true);
  });

  it('truncates on grapheme boundaries within both limits', () => {
    expect(truncateToFit('ab😀cd', { maxChars: 3 })).toBe('ab');
    expect(truncateToFit('ab👨‍👩‍👧cd', { maxChars: 6 })).toBe('ab');
    expect(truncateToFit('ab🇫🇷🇩🇪', { maxChars: 4 })).toBe('ab');
    expect(truncateToFit('ab🇫🇷🇩🇪', { maxChars: 5 })).toBe('ab');
    expect(truncateToFit('ab🇫🇷🇩🇪', { maxChars: 7 })).toBe('ab🇫🇷');
    expect(truncateToFit('漢字漢字', { maxChars: 100, maxBytes: 7 })).toBe('漢字');
    expect(truncateToFit('short', { maxChars: 100 })).toBe('short');
  });

  it('falls back to a code-point cut inside one enormous grapheme', () => {
    const zalgo = `a${'\u0301'.repeat(50)}`;
    const cut = truncateToFit(zalgo, { maxChars: 10 });
    expect(cut.length).toBe(10);
  });

  it('marks a truncation with an ellipsis that fits too', () => {
    const out = truncateWithEllipsis('hello world and more', { maxChars: 12 });
    expect(out).toBe('hello world…');
    expect(out.length).toBeLessThanOrEqual(12);
    expect(truncateWithEllipsis('fits', { maxChars: 12 })).toBe('fits');
  });

  it('takes a tail without splitting a character', () => {
    expect(tailToFit('abc😀de', { maxChars: 3 })).toBe('de');
    expect(tailToFit('abc😀de', { maxChars: 4 })).toBe('😀de');
    expect(tailToFit('x🇫🇷🇩🇪', { maxChars: 6 })).toBe('🇩🇪');
    expect(tailToFit('x👨‍👩‍👧', { maxChars: 6 })).toBe('');
    expect(tailToFit('é'.repeat(10), { maxChars: 100, maxBytes: 5 })).toBe('éé');
  });
});
