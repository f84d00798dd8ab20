// CNI errors as values: every failure a plugin or the dispatcher reports becomes one JSON object
// `{cniVersion, code, msg, details}` on stdout (CNI spec "Error"), printed in one place (skel.ts).

/** The codes the CNI spec reserves; plugins use 100 and above for their own. */
export const errorCode = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodingFailure: 6,
  invalidNetworkConfig: 7,
  invalidNetns: 8,
  tryAgainLater: 11,
  /** A failure the plugin did not classify (libcni's ErrInternal). */
  internal: 999,
} as const

export class CniError extends Error {
  readonly code: number
  readonly details: string

  constructor(code: number, msg: string, details = '') {
    super(msg)
    this.name = 'CniError'
    this.code = code
    this.details = details
  }
}

export interface CniErrorJson {
  cniVersion: string
  code: number
  msg: string
  details: string
}

/** The error object for any thrown value; an unclassified error keeps its message under code 999. */
export function errorJson(err: unknown, cniVersion: string): CniErrorJson {
  if (err instanceof CniError) return { cniVersion, code: err.code, msg: err.message, details: err.details }
  const msg = err instanceof Error ? err.message : String(err)
  return { cniVersion, code: errorCode.internal, msg, details: '' }
}
