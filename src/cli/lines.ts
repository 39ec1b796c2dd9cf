import { ValidationError } from '../protocol/index.js';

/**
 * The lines of UTF-8 text arriving in `chunks`, without their line ends. A
 * stream cuts its chunks anywhere, also inside a multi-byte character, so
 * bytes are decoded by one streaming decoder rather than chunk by chunk (which
 * turns each cut character into U+FFFD). Bytes that are not UTF-8 are refused,
 * never replaced.
 */
export async function* readLines(chunks: AsyncIterable<Uint8Array | string>, subject = 'standard input'): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const decode = (bytes?: Uint8Array) => {
    try {
      return bytes ? decoder.decode(bytes, { stream: true }) : decoder.decode();
    } catch {
      throw new ValidationError(subject, [{ path: '(root)', code: 'ORC_PROTOCOL_INVALID_VALUE', message: 'is not UTF-8 text' }]);
    }
  };
  let pending = '';
  for await (const chunk of chunks) {
    pending += typeof chunk === 'string' ? chunk : decode(chunk);
    let start = 0;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n', start)) {
      yield pending.slice(start, end);
      start = end + 1;
    }
    pending = pending.slice(start);
  }
  pending += decode();
  if (pending !== '') yield pending;
}
