import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { checkOutput, writeOutput } from '../../src/cli/output-file.js';

function refusal(fn: () => void): { code: string; message: string } | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err as { code: string; message: string };
  }
}

const io = { stdout: { write: () => true } as unknown as NodeJS.WritableStream };

describe('--out', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-out-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is refused before any work when it names a folder, or a file in a folder that does not exist', () => {
    expect(refusal(() => checkOutput(dir, 'results'))).toMatchObject({ code: 'ORC_CLI_BAD_ARGUMENT', message: expect.stringMatching(/^--out results is a folder: name a file/) });
    const missing = path.join(dir, 'no-such-folder', 'r.json');
    expect(refusal(() => checkOutput(missing, 'no-such-folder/r.json'))).toMatchObject({
      code: 'ORC_CLI_BAD_ARGUMENT',
      message: `--out no-such-folder/r.json: the folder ${path.join(dir, 'no-such-folder')} does not exist`,
    });
    // A new file, an existing one, and standard output are fine.
    expect(refusal(() => checkOutput(path.join(dir, 'r.json'), 'r.json'))).toBeUndefined();
    fs.writeFileSync(path.join(dir, 'old.json'), '{}');
    expect(refusal(() => checkOutput(path.join(dir, 'old.json'), 'old.json'))).toBeUndefined();
    expect(refusal(() => checkOutput('-', '-'))).toBeUndefined();
  });

  it('follows a symbolic link: the file it names is replaced whole, the link stays', async () => {
    const real = path.join(dir, 'real.json');
    fs.writeFileSync(real, 'old');
    const link = path.join(dir, 'link.json');
    fs.symlinkSync(real, link);
    checkOutput(link, 'link.json');
    await writeOutput(link, 'new', io);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(real, 'utf8')).toBe('new');
    expect(fs.readdirSync(dir).sort()).toEqual(['link.json', 'real.json']);
  });

  it('writes through a link to a file not made yet, creating that file', async () => {
    const real = path.join(dir, 'later.json');
    const link = path.join(dir, 'link.json');
    fs.symlinkSync(real, link);
    checkOutput(link, 'link.json');
    await writeOutput(link, 'made', io);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(real, 'utf8')).toBe('made');
  });
});
