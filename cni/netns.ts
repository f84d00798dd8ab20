// Running a program inside a network namespace. Node cannot setns(2) itself, so the program is
// started through nsenter(1), or `ip -n` for iproute2 in a named namespace; without a namespace it
// runs where the plugin runs (the host's).
const childProcess = process.getBuiltinModule('node:child_process')
const fs = process.getBuiltinModule('node:fs')

export interface RunResult {
  stdout: string
  stderr: string
  /** Exit code, or null when a signal ended the program. */
  code: number | null
}

export interface RunOptions {
  input?: string
  timeoutMs?: number
  /** stdin stays open until this settles (after `input`) */
  keepInputOpen?: Promise<void>
  onSpawn?: (child: import('node:child_process').ChildProcess) => void
}

const defaultTimeoutMs = 20_000

/** A namespace `ip netns` named: `ip -n NAME` enters it itself, one program start fewer than nsenter. */
const namedNetns = /^\/(?:var\/)?run\/netns\/([^/]+)$/

/** The argv that runs `argv` inside `netns`. */
export function inNamespace(netns: string | undefined, argv: string[]): string[] {
  if (!netns) return argv
  const named = namedNetns.exec(netns)?.[1]
  if (named && argv[0] === 'ip' && named !== '.' && named !== '..') return ['ip', '-n', named, ...argv.slice(1)]
  return ['nsenter', `--net=${netns}`, '--', ...argv]
}

/** Runs `argv` in the network namespace at `netns` (a path such as /var/run/netns/x), or here when undefined. */
export function runIn(netns: string | undefined, argv: string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...rest] = inNamespace(netns, argv)
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs
  return new Promise((resolve, reject) => {
    const child = childProcess.spawn(file, rest, { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${argv.join(' ')}: no answer within ${timeoutMs} ms`))
    }, timeoutMs)
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(new Error(`cannot run ${file}: ${err.message}`))
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ stdout, stderr, code })
    })
    child.stdin.on('error', () => {})
    options.onSpawn?.(child)
    if (options.keepInputOpen) {
      if (options.input) child.stdin.write(options.input)
      void options.keepInputOpen.then(() => child.stdin.end())
    } else child.stdin.end(options.input ?? '')
  })
}

/** Whether `path` names a network namespace that still exists (false for "" too). */
export function netnsExists(path: string): boolean {
  if (!path) return false
  try {
    fs.statSync(path)
    return true
  } catch {
    return false
  }
}

export interface Streaming {
  write(text: string): void
  /** Closes the program's stdin and resolves once it exits. */
  end(): Promise<RunResult>
}

/** Starts `argv` in `netns` (here when undefined) with its stdin open, for input known only bit by bit. */
export function runStreaming(netns: string | undefined, argv: string[], options: Omit<RunOptions, 'input'> = {}): Streaming {
  let closeInput: (() => void) | undefined
  const input = new Promise<void>((r) => (closeInput = r))
  let pending = ''
  let child: import('node:child_process').ChildProcess | undefined
  const done = runIn(netns, argv, { ...options, onSpawn: (c) => (child = c), keepInputOpen: input })
  // a program started ahead may never be used: its failure is for end() to report, if anyone asks
  done.catch(() => {})
  return {
    write: (text) => {
      if (child?.stdin) child.stdin.write(text)
      else pending += text
    },
    end: () => {
      if (pending && child?.stdin) child.stdin.write(pending)
      pending = ''
      closeInput!()
      return done
    },
  }
}
