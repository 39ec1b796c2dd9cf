import { describe, it, expect } from 'vitest';
import { readLines } from '../../src/cli/lines.js';

async function* chunksOf(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part;
}

const collect = async (chunks: AsyncIterable<Uint8Array | string>) => {
  const lines: string[] = [];
  for await (const line of readLines(chunks)) lines.push(line);
  return lines;
};

// Two-, three- and four-byte characters (one of them a surrogate pair in JavaScript), next to line ends.
const TEXT = '{"name":"Zoë"}\n€uro 😀\n\nñ\n中文🎉é';
const BYTES = Buffer.from(TEXT, 'utf8');
const LINES = TEXT.split('\n');

describe('readLines', () => {
  it('decodes a character cut between two chunks at every byte offset', async () => {
    for (let cut = 0; cut <= BYTES.length; cut++) {
      expect(await collect(chunksOf(BYTES.subarray(0, cut), BYTES.subarray(cut))), `cut at byte ${cut}`).toEqual(LINES);
    }
  });

  it('decodes the text fed one byte at a time, and cut at every pair of offsets', async () => {
    expect(await collect(chunksOf(...[...BYTES].map((b) => Uint8Array.of(b))))).toEqual(LINES);
    for (let a = 0; a <= BYTES.length; a++) {
      for (let b = a; b <= BYTES.length; b++) {
        expect(await collect(chunksOf(BYTES.subarray(0, a), BYTES.subarray(a, b), BYTES.subarray(b)))).toEqual(LINES);
      }
    }
  });

  it('yields a last line without a line end, and nothing for empty input', async () => {
    expect(await collect(chunksOf(Buffer.from('a\nb')))).toEqual(['a', 'b']);
    expect(await collect(chunksOf(Buffer.from('a\n')))).toEqual(['a']);
    expect(await collect(chunksOf())).toEqual([]);
  });

  it('refuses bytes that are not UTF-8 instead of replacing them', async () => {
    await expect(collect(chunksOf(Buffer.from('ok\n'), Uint8Array.of(0x7b, 0xff, 0x7d)))).rejects.toMatchObject({
      code: 'ORC_PROTOCOL_INVALID_VALUE',
      message: 'invalid standard input: (root): is not UTF-8 text',
    });
    // A character cut short by the end of the input is not UTF-8 either.
    await expect(collect(chunksOf(Buffer.from('€').subarray(0, 2)))).rejects.toMatchObject({ code: 'ORC_PROTOCOL_INVALID_VALUE' });
  });
});
