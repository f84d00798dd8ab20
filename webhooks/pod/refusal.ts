// The pod webhook refuses as Spiderpool's does: 403 Forbidden with the reason as the message.
import { refuseForbidden, type Refusal } from '../field.ts'

export type { Refusal }

export const refuse = (message: string): Refusal => refuseForbidden(message)

export const isRefusal = (v: unknown): v is Refusal =>
  typeof v === 'object' && v !== null && (v as Refusal).reason === 'Forbidden' && typeof (v as Refusal).message === 'string'
