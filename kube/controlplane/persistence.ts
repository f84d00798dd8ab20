// The store on disk: one JSON file replaced atomically (temp file, fsync, rename, fsync of the
// directory). Changes are coalesced: at most one write per interval however many changes arrive.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { crdResource, resourceKey, resources } from './resources.ts'
import { optionalResources, resourceOfCRD } from './served.ts'
import type { Snapshot, Store, StoredObject } from './store.ts'

interface StateFile {
  version: 1
  resourceVersion: number
  objects: Record<string, StoredObject[]>
}

export async function loadState(file: string): Promise<Snapshot | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  const state = JSON.parse(text) as StateFile
  const byKey = new Map([...resources, ...optionalResources].map((r) => [resourceKey(r), r]))
  // the kinds of CRDs created through the API come back with their CRDs
  for (const crd of state.objects[resourceKey(crdResource)] ?? []) {
    const served = resourceOfCRD(crd)
    if (served) byKey.set(resourceKey(served), served)
  }
  const objects: Snapshot['objects'] = []
  for (const [key, list] of Object.entries(state.objects)) {
    const resource = byKey.get(key)
    if (!resource) {
      process.emitWarning(`${file}: objects of unknown resource ${key} are dropped`, 'ControlPlaneWarning')
      continue
    }
    for (const object of list) objects.push({ resource, object })
  }
  return { resourceVersion: state.resourceVersion, objects }
}

function serialize(snapshot: Snapshot): string {
  const objects: Record<string, StoredObject[]> = {}
  for (const { resource, object } of snapshot.objects) (objects[resourceKey(resource)] ??= []).push(object)
  const state: StateFile = { version: 1, resourceVersion: snapshot.resourceVersion, objects }
  return JSON.stringify(state)
}

/** Writes `text` to `file` so that a crash leaves either the old or the new content, never a mix. */
export async function writeFileAtomically(file: string, text: string, mode = 0o600): Promise<void> {
  const dir = path.dirname(file)
  await mkdir(dir, { recursive: true })
  const temporary = `${file}.${process.pid}.tmp`
  const handle = await open(temporary, 'w', mode)
  try {
    await handle.chmod(mode)
    await handle.writeFile(text)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(temporary, file)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
  const directory = await open(dir, 'r')
  try {
    await directory.sync()
  } finally {
    await directory.close()
  }
}

export class StatePersistence {
  readonly file: string
  readonly #store: Store
  readonly #intervalMs: number
  #timer: NodeJS.Timeout | undefined
  #writing: Promise<void> | undefined
  #dirty = false
  #lastWriteMs = 0
  #unsubscribe: () => void
  /** The error of the last failed write, kept until a write succeeds. */
  lastError: Error | undefined

  constructor(file: string, store: Store, intervalMs = 50) {
    this.file = file
    this.#store = store
    this.#intervalMs = intervalMs
    this.#unsubscribe = store.subscribe(() => this.#changed())
  }

  #changed(): void {
    this.#dirty = true
    if (this.#timer === undefined && this.#writing === undefined) this.#schedule()
  }

  // a big store takes a while to serialize: waiting twice as long between writes bounds that cost
  #schedule(): void {
    this.#timer = setTimeout(() => void this.#write(), Math.max(this.#intervalMs, 2 * this.#lastWriteMs))
  }

  async #write(): Promise<void> {
    this.#timer = undefined
    if (!this.#dirty) return
    this.#dirty = false
    const started = performance.now()
    const text = serialize(this.#store.snapshot())
    this.#writing = writeFileAtomically(this.file, text)
    try {
      await this.#writing
      this.#lastWriteMs = performance.now() - started
      this.lastError = undefined
    } catch (error) {
      this.lastError = error as Error
      this.#dirty = true
      process.emitWarning(`writing ${this.file} failed: ${(error as Error).message}`, 'ControlPlaneWarning')
    } finally {
      this.#writing = undefined
    }
    if (this.#dirty && this.#timer === undefined) this.#schedule()
  }

  /** Writes what is pending now and waits for it. */
  async flush(): Promise<void> {
    if (this.#writing) await this.#writing.catch(() => {})
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#dirty = true
    await this.#write()
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.lastError) throw this.lastError
  }

  async close(): Promise<void> {
    this.#unsubscribe()
    await this.flush()
  }
}
