#!/usr/bin/env node
import { readdirSync } from 'node:fs';
import { debug } from '../core/debug.ts';
import { ShipgateError } from '../core/errors.ts';
import { isOwnModuleFile, ownExtension } from '../core/own-files.ts';
import { redactSecrets } from '../core/redact.ts';

/**
 * `shipgate <command> [args]`. Each command is one file in ./commands exporting a default
 * `(argv) => Promise<exitCode>` and a one-line `summary`; this file only dispatches.
 */
const log = debug('cli');
const commandsDir = new URL('./commands/', import.meta.url);
// `.ts` in this repo, `.js` in the installed package.
const ext = ownExtension(import.meta.url);

function commandNames(): string[] {
  return readdirSync(commandsDir)
    .filter((f) => isOwnModuleFile(f, import.meta.url))
    .map((f) => f.slice(0, -ext.length))
    .sort();
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const names = commandNames();
  if (!name || name === '--help' || name === '-h') {
    const lines = await Promise.all(
      names.map(
        async (n) => `  ${n.padEnd(10)} ${(await import(new URL(`${n}${ext}`, commandsDir).href)).summary ?? ''}`,
      ),
    );
    process.stdout.write(`usage: shipgate <command> [args]\n\n${lines.join('\n')}\n`);
    return name ? 0 : 64;
  }
  if (!names.includes(name)) {
    process.stderr.write(`shipgate: unknown command "${name}". Known: ${names.join(', ')}.\n`);
    return 64;
  }
  const command = (await import(new URL(`${name}${ext}`, commandsDir).href)) as {
    default: (argv: string[]) => Promise<number>;
  };
  return command.default(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // A flag the command does not know is a usage error (64), not a crash with a stack.
    if ((err as NodeJS.ErrnoException)?.code?.startsWith('ERR_PARSE_ARGS_')) {
      const [cmd] = process.argv.slice(2);
      process.stderr.write(`shipgate ${cmd}: ${(err as Error).message.split('. ')[0]}. See \`shipgate --help\`.\n`);
      process.exitCode = 64;
      return;
    }
    const [cmd = ''] = process.argv.slice(2);
    // A ShipgateError is a message for the user (what failed, the value, the fix): no stack,
    // which DEBUG=shipgate:cli still shows. Anything else is a crash, and its stack helps.
    if (err instanceof ShipgateError) {
      process.stderr.write(redactSecrets(`shipgate ${cmd}: ${err.name} [${err.code}]: ${err.message}\n`));
      log('%s', redactSecrets(err.stack ?? ''));
    } else {
      process.stderr.write(
        redactSecrets(`shipgate ${cmd}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`),
      );
    }
    process.exitCode = 1;
  },
);
