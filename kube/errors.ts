// Errors of the Kubernetes API as values: every non-2xx answer (and every watch ERROR event)
// becomes an ApiError carrying the metav1.Status the server sent, so callers branch on the
// reason (Conflict, NotFound, ...) the way client-go's apierrors package does.

export interface StatusCause {
  type?: string
  message?: string
  field?: string
}

export interface StatusDetails {
  name?: string
  group?: string
  kind?: string
  uid?: string
  causes?: StatusCause[]
  retryAfterSeconds?: number
}

/** metav1.Status */
export interface Status {
  kind: 'Status'
  apiVersion: 'v1'
  metadata?: { resourceVersion?: string; continue?: string }
  status: 'Success' | 'Failure'
  message?: string
  reason?: string
  details?: StatusDetails
  code: number
}

// The reason kube-apiserver gives for a code when the body carries no Status (a proxy's HTML page, an empty 503).
const reasonOfCode: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
}

export function isStatus(value: unknown): value is Status {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Status'
}

/** The Status for an answer: the server's own when the body is one, else one made from the code and body text. */
export function statusFromResponse(code: number, body: string): Status {
  try {
    const parsed: unknown = JSON.parse(body)
    if (isStatus(parsed)) return { ...parsed, code: typeof parsed.code === 'number' && parsed.code > 0 ? parsed.code : code }
  } catch {}
  const text = body.trim().slice(0, 500)
  return {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    code,
    reason: reasonOfCode[code] ?? (code >= 500 ? 'InternalError' : 'Unknown'),
    message: text || `the server answered HTTP ${code}`,
  }
}

export class ApiError extends Error {
  readonly code: number
  readonly reason: string
  readonly status: Status
  /** `METHOD path` of the request that failed (the watch's, for an ERROR event). */
  readonly request: string
  /** Came as an ERROR event inside a watch that had started well, not as the answer's HTTP status. */
  readonly watchEvent: boolean

  constructor(status: Status, request: string, watchEvent = false) {
    super(`${request}: ${status.code} ${status.reason ?? 'Unknown'}: ${status.message ?? ''}`.trimEnd())
    this.name = 'ApiError'
    this.code = status.code
    this.reason = status.reason ?? 'Unknown'
    this.status = status
    this.request = request
    this.watchEvent = watchEvent
  }

  get details(): StatusDetails | undefined {
    return this.status.details
  }
}

const apiError = (e: unknown): ApiError | undefined => (e instanceof ApiError ? e : undefined)

/** A write lost an optimistic-concurrency race (stale resourceVersion or failed precondition). */
export const isConflict = (e: unknown) => apiError(e)?.code === 409 && apiError(e)?.reason !== 'AlreadyExists'
export const isAlreadyExists = (e: unknown) => apiError(e)?.reason === 'AlreadyExists'
export const isNotFound = (e: unknown) => apiError(e)?.code === 404
/** The resourceVersion asked for is older than the server keeps (410 Gone / reason Expired): relist. */
export const isGone = (e: unknown) => apiError(e)?.code === 410 || apiError(e)?.reason === 'Expired'
export const isInvalid = (e: unknown) => apiError(e)?.code === 422
export const isForbidden = (e: unknown) => apiError(e)?.code === 403
export const isTooManyRequests = (e: unknown) => apiError(e)?.code === 429
