import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { PrismaGenerateError, prismaGenerate, STAMP_FILE } from './generate.ts';

const root = resolve(import.meta.dirname, '../..');

const schema = `generator client {
  provider               = "prisma-client"
  output                 = "../generated/prisma"
  moduleFormat           = "esm"
  runtime                = "nodejs"
  generatedFileExtension = "ts"
  importFileExtension    = "ts"
}

datasource db {
  provider = "postgresql"
}

enum Mood {
  calm
  busy
}

model Note {
  id   Int    @id @default(autoincrement())
  text String
  mood Mood   @default(calm)
}
`;

// The generated client imports @prisma/client, so the temp project needs the repo's node_modules.
async function tempProject(): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await mkdtemp(join(tmpdir(), 'shipgate-generate-'));
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  await mkdir(join(dir, 'prisma'));
  await writeFile(join(dir, 'prisma', 'schema.prisma'), schema);
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

test('generates a client whose .ts imports resolve under plain node, then skips when up to date', async () => {
  await using project = await tempProject();
  const first = await prismaGenerate({ schema: 'prisma/schema.prisma', cwd: project.dir });
  const client = join(project.dir, 'generated', 'prisma', 'client.ts');
  expect(first.output).toBe(join(project.dir, 'generated', 'prisma'));
  expect(first.skipped).toBe(false);
  expect(existsSync(client)).toBe(true);
  expect(await readFile(client, 'utf8')).toContain('from "./internal/class.ts"');
  expect(JSON.parse(await readFile(join(first.output, STAMP_FILE), 'utf8')).prismaVersion).toBe(first.prismaVersion);

  // The app runs under Node's type stripping, not Vite: prove node itself resolves every import.
  const probe = `const m = await import(${JSON.stringify(pathToFileURL(client).href)});
    console.log(JSON.stringify({ client: typeof m.PrismaClient, moods: Object.keys(m.Mood) }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', probe], {
    cwd: project.dir,
  });
  expect(JSON.parse(stdout)).toEqual({ client: 'function', moods: ['calm', 'busy'] });

  const second = await prismaGenerate({ schema: 'prisma/schema.prisma', cwd: project.dir });
  expect(second.skipped).toBe(true);
  expect(second.durationMs).toBeLessThan(first.durationMs);

  await writeFile(join(project.dir, 'prisma', 'schema.prisma'), schema.replace('busy', 'busy\n  away'));
  const third = await prismaGenerate({ schema: 'prisma/schema.prisma', cwd: project.dir });
  expect(third.skipped).toBe(false);
  expect(await readFile(join(project.dir, 'generated', 'prisma', 'enums.ts'), 'utf8')).toContain('away');
}, 120_000);

test('an invalid schema fails with SHIPGATE_PRISMA_GENERATE, the schema path and prisma stderr', async () => {
  await using project = await tempProject();
  await writeFile(join(project.dir, 'prisma', 'schema.prisma'), schema.replace('text String', 'text Strin'));
  const err = await prismaGenerate({ schema: 'prisma/schema.prisma', cwd: project.dir }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PrismaGenerateError);
  expect(err).toMatchObject({ code: 'SHIPGATE_PRISMA_GENERATE' });
  const message = (err as Error).message;
  expect(message).toContain('schema.prisma');
  expect(message).toMatch(/Strin/);
  expect(message).toContain('reproduce with');
}, 120_000);
