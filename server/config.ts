// The `--config` file: Spiderpool's `conf.yml` (the `spiderpool-conf` ConfigMap key) read into Settings.
import { readFile } from 'node:fs/promises'
import { parse } from 'yaml'
import { parseSettings, type Settings } from '../webhooks/settings.ts'

/** Settings from a conf.yml; any problem is an error naming the file (and the key, from parseSettings). */
export async function loadSettings(file: string): Promise<Settings> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new Error(`config ${file}: cannot read it: ${(err as Error).message}`)
  }
  try {
    return parseSettings(parse(text))
  } catch (err) {
    throw new Error(`config ${file}: ${(err as Error).message}`)
  }
}
