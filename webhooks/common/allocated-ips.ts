// An IPPool's `status.allocatedIPs`: a JSON string `{"<ip>": {"pod": "ns/name", "podUid": "…", …}}`.
// Only the IP keys and `pod` matter to admission; other fields (ours or future ones) are kept out of the way.
import { isObject } from '../../ipam/json.ts'

export interface AllocatedIP {
  /** the key as stored */
  ip: string
  /** `namespace/name` of the holder, '' when the record has none */
  pod: string
}

export type AllocatedIPsParse = { records: AllocatedIP[]; error?: undefined } | { records?: undefined; error: string }

/** An absent or empty record is no allocation; anything that is not a JSON object of objects is an error. */
export function parseAllocatedIPs(text: string | undefined | null): AllocatedIPsParse {
  if (text === undefined || text === null || text.trim() === '') return { records: [] }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    return { error: (e as Error).message }
  }
  if (doc === null) return { records: [] }
  if (!isObject(doc)) return { error: 'status.allocatedIPs is not a JSON object' }
  const records: AllocatedIP[] = []
  for (const [ip, record] of Object.entries(doc)) {
    if (record !== null && !isObject(record)) return { error: `the record of IP ${ip} is not a JSON object` }
    const pod = record?.pod
    records.push({ ip, pod: typeof pod === 'string' ? pod : '' })
  }
  return { records }
}
