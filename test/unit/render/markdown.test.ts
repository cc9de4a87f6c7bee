import { describe, expect, it } from 'vitest';
import { convertTables, displayWidth, splitRow } from '../../../src/render/markdown.js';

describe('convertTables', () => {
  it('draws a narrow table as an aligned monospace block, honouring column alignment', () => {
    const text = [
      'Pods:',
      '| Name | Status | Restarts |',
      '|:-----|:------:|---------:|',
      '| api-7f9 | **Running** | 0 |',
      '| worker | `CrashLoop` | 12 |',
      'That is all.',
    ].join('\n');
    expect(convertTables(text)).toBe(
      [
        'Pods:',
        '',
        '```',
        'Name    |  Status   | Restarts',
        '--------+-----------+---------',
        'api-7f9 |  Running  |        0',
        'worker  | CrashLoop |       12',
        '```',
        '',
        'That is all.',
      ].join('\n'),
    );
  });

  it('turns a table with links into one bullet per row, so links stay clickable', () => {
    const text = [
      '| Service | Docs |',
      '|---|---|',
      '| jira | [guide](https://example.com/jira) |',
      '| github | |',
    ].join('\n');
    expect(convertTables(text)).toBe(
      ['- **Service**: jira · **Docs**: [guide](https://example.com/jira)', '- **Service**: github'].join(
        '\n',
      ),
    );
  });

  it('turns a wide table into a list', () => {
    const long = 'a fairly long description of what this row is about';
    const text = `| Key | Description |\n| --- | --- |\n| one | ${long} |\n`;
    expect(convertTables(text, { maxWidth: 40 })).toBe(`- **Key**: one · **Description**: ${long}\n`);
    expect(convertTables(text, { maxWidth: 80 })).toContain('```\nKey | Description');
  });

  it('measures CJK and emoji as two columns wide', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('日本')).toBe(4);
    expect(displayWidth('👍🏽')).toBe(2);
    expect(displayWidth('é')).toBe(1);
    const text = '| 名前 | ok |\n|---|---|\n| 田中 | ✅ |\n| Bob | no |';
    expect(convertTables(text)).toBe(
      ['```', '名前 | ok', '-----+---', '田中 | ✅', 'Bob  | no', '```'].join('\n'),
    );
  });

  it('keeps escaped pipes as content and pads short rows', () => {
    expect(splitRow('| a \\| b | c |')).toEqual(['a \\| b', 'c']);
    const text = '| A | B |\n|---|---|\n| x \\| y |\n| 1 | 2 | 3 |';
    expect(convertTables(text)).toBe(
      ['```', 'A     | B', '------+--', 'x | y |', '1     | 2', '```'].join('\n'),
    );
  });

  it('puts line breaks in cells on one line in the list form', () => {
    const text = '| Step | Notes |\n|---|---|\n| 1 | see [doc](https://x.io)<br>then retry |';
    expect(convertTables(text)).toBe('- **Step**: 1 · **Notes**: see [doc](https://x.io); then retry');
  });

  it('leaves tables inside code fences alone', () => {
    const text = '```md\n| a | b |\n|---|---|\n| 1 | 2 |\n```';
    expect(convertTables(text)).toBe(text);
    const tilde = '~~~\n| a | b |\n|---|---|\n~~~\n\n| c |\n|---|\n| 3 |';
    expect(convertTables(tilde)).toBe('~~~\n| a | b |\n|---|---|\n~~~\n\n```\nc\n-\n3\n```');
  });

  it('leaves text that only looks a bit like a table alone', () => {
    const cases = [
      'a | b\nno delimiter here',
      '| a | b |\n|---|\n| 1 | 2 |', // delimiter has the wrong number of cells
      'use `a || b` to default\n\n-- not a delimiter',
      '    | indented | code |\n    |---|---|',
      'plain text without pipes',
    ];
    for (const text of cases) expect(convertTables(text)).toBe(text);
  });

  it('keeps CRLF line breaks around a converted table', () => {
    const text = 'before\r\n\r\n| a |\r\n|---|\r\n| 1 |\r\n\r\nafter';
    expect(convertTables(text)).toBe('before\r\n\r\n```\na\n-\n1\n```\r\n\r\nafter');
  });

  it('converts every table in a message', () => {
    const table = '| k | v |\n|---|---|\n| x | 1 |';
    const out = convertTables(`${table}\n\nmiddle\n\n${table}`);
    expect(out.match(/```\nk \| v/g)?.length).toBe(2);
    expect(out).toContain('\n\nmiddle\n\n');
  });
});
