// The metav1.Status a refused request gets, worded as k8s.io/apimachinery's apierrors and
// k8s.io/apiserver's webhook errors word them.

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

export interface Status {
  apiVersion: 'v1'
  kind: 'Status'
  metadata: Record<string, unknown>
  status: string
  message: string
  reason?: string
  details?: StatusDetails
  code: number
}

function failure(code: number, reason: string, message: string, details?: StatusDetails): Status {
  return { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code }
}

/** apierrors.NewInternalError */
export function internalError(error: string): Status {
  return failure(500, 'InternalError', `Internal error occurred: ${error}`, { causes: [{ message: error }] })
}

/** apierrors.NewBadRequest */
export function badRequest(message: string): Status {
  return failure(400, 'BadRequest', message)
}

/** apierrors.NewNotFound for a core resource such as `namespaces` */
export function notFound(resource: string, name: string): Status {
  return failure(404, 'NotFound', `${resource} ${JSON.stringify(name)} not found`, { name, kind: resource })
}

/** `failed calling webhook "<name>": <why>` as a 500: a failing webhook under failurePolicy Fail. */
export function webhookCallFailed(webhookName: string, why: string): Status {
  return internalError(`failed calling webhook ${JSON.stringify(webhookName)}: ${why}`)
}

/** webhookerrors.NewDryRunUnsupportedErr */
export function dryRunUnsupported(webhookName: string): Status {
  return badRequest(`admission webhook ${JSON.stringify(webhookName)} does not support dry run`)
}

/**
 * webhookerrors.ToStatusErr: the webhook's own status, prefixed with who denied; a code below 400
 * becomes 400 and an empty or `Success` status becomes `Failure`, so a denial never reads as success.
 */
export function deniedByWebhook(webhookName: string, given: WebhookStatus | undefined): Status {
  const deniedBy = `admission webhook ${JSON.stringify(webhookName)} denied the request`
  const code = given?.code !== undefined && given.code >= 400 ? given.code : 400
  const status = !given?.status || given.status === 'Success' ? 'Failure' : given.status
  const message = given?.message ? `${deniedBy}: ${given.message}` : given?.reason ? `${deniedBy}: ${given.reason}` : `${deniedBy} without explanation`
  return {
    apiVersion: 'v1',
    kind: 'Status',
    metadata: given?.metadata ?? {},
    status,
    message,
    ...(given?.reason ? { reason: given.reason } : {}),
    ...(given?.details ? { details: given.details } : {}),
    code,
  }
}

/** `response.status` as a webhook may send it: every field optional. */
export interface WebhookStatus {
  metadata?: Record<string, unknown>
  status?: string
  message?: string
  reason?: string
  details?: StatusDetails
  code?: number
}
