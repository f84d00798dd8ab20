// What each cniType of a SpiderMultusConfig requires of its config block: SMC-V-07..V-23.
import { forbidden, invalid, required, type FieldError } from '../field.ts'
import type { MultusConfigSpec } from '../../schemas/types.ts'

/** The spec keys that hold one CNI's config, as users write them. */
export const configKeys = ['macvlan', 'ipvlan', 'vlan', 'sriov', 'ibsriov', 'ipoib', 'ovs', 'customCNI'] as const
export type ConfigKey = (typeof configKeys)[number]

export interface CNITypeRules {
  /** the spec key of this type's config */
  config: ConfigKey
  /** SMC-V-07: a missing config is refused (custom may go without) */
  configRequired: boolean
  /** the config's own checks; `at` is `spec.<config>` */
  check(config: unknown, at: string): FieldError[]
  /**
   * The field naming the device resource that SMC-V-13/V-14 inject, and whether the type's own
   * checks already require it. Absent: the type refuses injection (SMC-V-19).
   */
  resource?: { field: string; requiredByType: boolean }
}

type Obj = Record<string, unknown>
type Pools = { ipv4?: unknown; ipv6?: unknown; matchMasterSubnet?: unknown } | undefined

const isSet = (v: unknown) => v !== undefined && v !== null
const outside = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && (v < min || v > max)

// SMC-V-08 (SMC-V-20 for ovs)
function checkVlanID(vlanID: unknown, field: string): FieldError[] {
  return outside(vlanID, 0, 4094) ? [invalid(field, vlanID, `invalid vlanId ${vlanID}, please make sure vlanId in range [0,4094]`)] : []
}

// SMC-V-09 (SMC-V-16 for sriov, where Spiderpool crashes: a plain refusal here)
function checkMTU(mtu: unknown, field: string): FieldError[] {
  return typeof mtu === 'number' && mtu < 0 ? [invalid(field, mtu, 'MTU must be greater than or equal to 0')] : []
}

/** macvlan, ipvlan and vlan: one or more host interfaces, bonded when several. */
function masterConfigChecks(type: 'macvlan' | 'ipvlan' | 'vlan') {
  return (config: unknown, at: string): FieldError[] => {
    const c = config as Obj
    const errs: FieldError[] = []
    // SMC-V-15
    if (type === 'vlan') errs.push(...checkVlanMode(c, at))
    errs.push(...checkVlanID(c.vlanID, `${at}.vlanID`), ...checkMTU(c.mtu, `${at}.mtu`))
    // SMC-V-10
    if ((c.ippools as Pools)?.matchMasterSubnet === true) {
      errs.push(invalid(`${at}.ippools.matchMasterSubnet`, true, `MatchMasterSubnet feature is not supported for ${type}`))
    }
    // SMC-V-11
    const masters = Array.isArray(c.master) ? c.master : []
    const bond = c.bond as { name?: unknown } | undefined | null
    if (masters.length === 0) errs.push(required(`${at}.master`, "master can't be empty"))
    else if (masters.length >= 2 && !isSet(bond)) errs.push(required(`${at}.bond`, 'the bond property is nil with multiple Interfaces'))
    else if (masters.length >= 2 && (bond?.name ?? '') === '') errs.push(required(`${at}.bond.name`, "bond name can't be empty"))
    return errs
  }
}

// SMC-V-15
function checkVlanMode(c: Obj, at: string): FieldError[] {
  switch (c.vlanMode) {
    case undefined:
    case null:
      return [required(`${at}.vlanMode`, 'vlanMode must not be nil')]
    case 'manual':
      return isSet(c.vlanID) ? [] : [required(`${at}.vlanID`, 'vlanId must not be nil when vlanMode is manual')]
    case 'auto':
      return isSet(c.vlanID) ? [forbidden(`${at}.vlanID`, 'vlanId must not be specified when vlanMode is auto')] : []
    default:
      return [invalid(`${at}.vlanMode`, c.vlanMode, `invalid vlanMode ${c.vlanMode}, supported values are manual and auto`)]
  }
}

/** SMC-V-18 and its ib-sriov / ipoib twins: a non-empty name. */
const requireName = (value: unknown, field: string): FieldError[] =>
  value === undefined || value === null || value === '' ? [required(field, `no ${field} specified`)] : []

function checkSriov(config: unknown, at: string): FieldError[] {
  const c = config as Obj
  const errs = [...checkVlanID(c.vlanID, `${at}.vlanID`), ...checkMTU(c.mtu, `${at}.mtu`)]
  // SMC-V-17: equal rates are fine; max 0 ("unlimited") with a min is refused, as in Spiderpool
  if (typeof c.minTxRateMbps === 'number' && typeof c.maxTxRateMbps === 'number' && c.minTxRateMbps > c.maxTxRateMbps) {
    errs.push(invalid(`${at}.minTxRateMbps`, c.minTxRateMbps, 'minTxRateMbps must be less than maxTxRateMbps'))
  }
  // SMC-V-18
  errs.push(...requireName(c.resourceName, `${at}.resourceName`))
  return errs
}

const checkIBSriov = (config: unknown, at: string): FieldError[] => requireName((config as Obj).resourceName, `${at}.resourceName`)

const checkIPoIB = (config: unknown, at: string): FieldError[] => requireName((config as Obj).master, `${at}.master`)

function checkOvs(config: unknown, at: string): FieldError[] {
  const c = config as Obj
  // SMC-V-20
  const errs = checkVlanID(c.vlan, `${at}.vlan`)
  // SMC-V-21: ids within the CRD's 0..4094 (Spiderpool's webhook allows id up to 4096)
  const trunks = Array.isArray(c.trunk) ? c.trunk : []
  trunks.forEach((trunk: { minID?: unknown; maxID?: unknown; id?: unknown } | null, i) => {
    const t = `${at}.trunk[${i}]`
    const { minID, maxID, id } = trunk ?? {}
    const badMin = outside(minID, 0, 4094)
    const badMax = outside(maxID, 0, 4094)
    if (badMin) errs.push(invalid(`${t}.minID`, minID, 'incorrect trunk minID parameter'))
    if (badMax) errs.push(invalid(`${t}.maxID`, maxID, 'incorrect trunk maxID parameter'))
    // Spiderpool crashes on a maxID without minID: refused plainly here
    if (isSet(maxID) && !isSet(minID)) errs.push(required(`${t}.minID`, 'minID must be set when maxID is set in trunk parameter'))
    else if (!badMin && !badMax && typeof minID === 'number' && typeof maxID === 'number' && maxID < minID) {
      errs.push(invalid(t, trunk, 'minID is greater than maxID in trunk parameter'))
    }
    if (outside(id, 0, 4094)) errs.push(invalid(`${t}.id`, id, 'incorrect trunk id parameter'))
  })
  return errs
}

// SMC-V-23: any JSON value will do, even a string literal
function checkCustomCNI(config: unknown, at: string): FieldError[] {
  if (config === '') return []
  try {
    JSON.parse(config as string)
    return []
  } catch {
    return [forbidden(at, "customCNI isn't a valid JSON encoding")]
  }
}

/** SMC-V-06: the cniTypes of the CRD enum and what each requires. */
export const cniTypes: Record<NonNullable<MultusConfigSpec['cniType']>, CNITypeRules> = {
  macvlan: { config: 'macvlan', configRequired: true, check: masterConfigChecks('macvlan'), resource: { field: 'rdmaResourceName', requiredByType: false } },
  ipvlan: { config: 'ipvlan', configRequired: true, check: masterConfigChecks('ipvlan'), resource: { field: 'rdmaResourceName', requiredByType: false } },
  vlan: { config: 'vlan', configRequired: true, check: masterConfigChecks('vlan'), resource: { field: 'rdmaResourceName', requiredByType: false } },
  sriov: { config: 'sriov', configRequired: true, check: checkSriov, resource: { field: 'resourceName', requiredByType: true } },
  'ib-sriov': { config: 'ibsriov', configRequired: true, check: checkIBSriov, resource: { field: 'resourceName', requiredByType: true } },
  ipoib: { config: 'ipoib', configRequired: true, check: checkIPoIB, resource: { field: 'master', requiredByType: true } },
  ovs: { config: 'ovs', configRequired: true, check: checkOvs },
  custom: { config: 'customCNI', configRequired: false, check: checkCustomCNI },
}
