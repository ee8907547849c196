/**
 * Progress for long steps (container start, template build, smoke seeding, budget runs).
 * On a TTY it is one live line that updates in place (with elapsed time); in CI or when
 * piped, plain lines, one per start/update/end, so logs stay readable.
 */
export interface Progress {
  update(detail: string): void;
  done(detail?: string): void;
  fail(detail: string): void;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Force live (TTY) or plain mode; default: live when the stream is a TTY and CI is not set. */
  live?: boolean;
  now?: () => number;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Starts a progress line for `step`. */
export function progress(step: string, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const live = options.live ?? (Boolean(stream.isTTY) && !process.env.CI);
  const start = now();
  let detail = '';
  let frame = 0;
  const elapsed = () => `${((now() - start) / 1000).toFixed(1)} s`;
  const draw = () => {
    frame = (frame + 1) % FRAMES.length;
    stream.write(`\r\x1b[2K${FRAMES[frame]} shipgate: ${step}${detail ? ` — ${detail}` : ''} (${elapsed()})`);
  };
  let timer: NodeJS.Timeout | undefined;
  if (live) {
    draw();
    timer = setInterval(draw, 100);
    timer.unref();
  } else {
    stream.write(`shipgate: ${step}…\n`);
  }
  const end = (mark: string, text: string) => {
    if (timer) clearInterval(timer);
    const line = `shipgate: ${step}${text ? ` — ${text}` : ''} (${elapsed()})`;
    stream.write(live ? `\r\x1b[2K${mark} ${line}\n` : `${line}\n`);
  };
  return {
    update(d) {
      detail = d;
      if (!live) stream.write(`shipgate: ${step} — ${d}\n`);
    },
    done: (d = 'done') => end('✔', d),
    fail: (d) => end('✖', `failed: ${d}`),
  };
}
