// What a claim reads off the pod, the same for the CNI plugin and the endpoint webhook: whether a
// StatefulSet owns it (its address outlives its uid) and the reservation entry of a NIC.
import { decodeReservation, reservationAnnotation } from '../../ipam/reservation.ts'
import type { Reservation, ReservedInterface } from '../../ipam/reservation.ts'
import { controllerOf } from '../common/controller-ref.ts'
import type { Pod } from './pod.ts'

export function statefulSetOf(pod: Pod): string | undefined {
  const owner = controllerOf(pod.metadata)
  return owner?.apiVersion === 'apps/v1' && owner.kind === 'StatefulSet' ? owner.name : undefined
}

export type ReservationLookup =
  | { reservation: Reservation; entry: ReservedInterface | undefined; problem?: undefined }
  | { reservation?: undefined; entry?: undefined; problem: string | undefined }

/** The pod's reservation and this NIC's entry in it; `problem` says why there is none to claim. */
export function reservationOf(pod: Pod, ifName: string): ReservationLookup {
  const text = pod.metadata?.annotations?.[reservationAnnotation]
  if (text === undefined) return { problem: undefined }
  const decoded = decodeReservation(text)
  if (decoded.error !== undefined) return { problem: decoded.error }
  return { reservation: decoded.reservation, entry: decoded.reservation.ips.find((i) => i.interface === ifName) }
}
