// SpiderCoordinator validation: CREATE and UPDATE are the same, no immutable field, no
// terminating check; DELETE is always allowed.
import { podCIDRTypes, podRPFilterValues, validateCoordinatorSpec } from '../coordinatorspec/validate.ts'
import { notSupported, type FieldError } from '../field.ts'
import type { SpiderCoordinator } from '../../schemas/types.ts'

export function validateSpiderCoordinator(coord: SpiderCoordinator): FieldError[] {
  const spec = coord.spec ?? {}
  const errs: FieldError[] = []
  // COORD-V-01
  if (spec.podCIDRType === undefined || spec.podCIDRType === null) errs.push(notSupported('spec.podCIDRType', '', podCIDRTypes))
  // COORD-V-10
  if (spec.podRPFilter === undefined || spec.podRPFilter === null) errs.push(notSupported('spec.podRPFilter', null, podRPFilterValues))
  // COORD-V-02..V-09, V-11..V-13
  errs.push(...validateCoordinatorSpec(spec, 'spec'))
  return errs
}
