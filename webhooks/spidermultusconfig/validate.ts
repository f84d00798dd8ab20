// SpiderMultusConfig validation, CREATE and UPDATE (DELETE is always allowed), in Spiderpool's
// order: annotations, cniType and its config (cnitypes.ts), coordinator, chained plugins.
import { validateCoordinatorSpec } from '../coordinatorspec/validate.ts'
import { forbidden, notSupported, required, type FieldError } from '../field.ts'
import type { ClusterSnapshot } from '../cluster.ts'
import type { CoordinatorSpec, SpiderMultusConfig } from '../../schemas/types.ts'
import {
  checkAnnotations,
  checkNADNameUnchanged,
  networkResourceInjectAnnotation,
  rdmaResourceInjectAnnotation,
} from './annotations.ts'
import { cniNetworkConfigProblem } from './chainconfig.ts'
import { cniTypes, configKeys, type CNITypeRules } from './cnitypes.ts'

export function validateSpiderMultusConfig(smc: SpiderMultusConfig, cluster: ClusterSnapshot, oldSMC?: SpiderMultusConfig): FieldError[] {
  const spec = smc.spec ?? {}
  return [
    // SMC-V-01, SMC-V-02
    ...(oldSMC ? checkNADNameUnchanged(oldSMC, smc) : []),
    // SMC-V-03..V-05
    ...checkAnnotations(smc, cluster),
    // SMC-V-06..V-23
    ...checkCNIType(smc),
    // SMC-V-30
    ...(isSet(spec.coordinator) ? validateCoordinatorSpec(spec.coordinator as CoordinatorSpec, 'spec.coordinator') : []),
    // SMC-V-31
    ...checkChainedPlugins(spec.chainCNIJsonData),
  ]
}

const isSet = (v: unknown) => v !== undefined && v !== null

function checkCNIType(smc: SpiderMultusConfig): FieldError[] {
  const spec = (smc.spec ?? {}) as Record<string, unknown>
  const type = spec.cniType
  // SMC-V-06
  if (!isSet(type)) return [required('spec.cniType', 'cniType must not be nil')]
  // The CRD enum, refused here too (Spiderpool leaves it to the schema, quirk 7)
  const rules: CNITypeRules | undefined = Object.hasOwn(cniTypes, type as string) ? cniTypes[type as keyof typeof cniTypes] : undefined
  if (!rules) return [notSupported('spec.cniType', type, Object.keys(cniTypes))]

  const errs: FieldError[] = []
  const annotations = smc.metadata?.annotations ?? {}
  const injectRDMA = Object.hasOwn(annotations, rdmaResourceInjectAnnotation)
  const injectNetwork = Object.hasOwn(annotations, networkResourceInjectAnnotation)
  // SMC-V-19
  if (!rules.resource && (injectRDMA || injectNetwork)) {
    errs.push(forbidden('spec.cniType', `the cniType ${type} does not support RDMA resource or network resource injected`))
  }
  const at = `spec.${rules.config}`
  const config = spec[rules.config]
  // SMC-V-07
  if (!isSet(config)) {
    if (rules.configRequired) errs.push(required(at, `no ${at} specified`))
  } else {
    errs.push(...rules.check(config, at))
  }
  // SMC-V-12, SMC-V-22
  if (configKeys.some((key) => key !== rules.config && isSet(spec[key]))) {
    errs.push(forbidden('spec.cniType', `the cniType ${type} only supports ${at}, please remove other CNI configs`))
  }
  // SMC-V-13, SMC-V-14
  if (rules.resource && isSet(config)) {
    errs.push(...checkInjection(smc, config as Record<string, unknown>, at, rules.resource, injectRDMA, injectNetwork))
  }
  return errs
}

/** SMC-V-13, SMC-V-14: what the Pod webhook needs to inject this SMC's device resource and pools. */
function checkInjection(
  smc: SpiderMultusConfig,
  config: Record<string, unknown>,
  at: string,
  resource: NonNullable<CNITypeRules['resource']>,
  injectRDMA: boolean,
  injectNetwork: boolean,
): FieldError[] {
  const who = `spidermultusconfig ${smc.metadata?.namespace ?? 'default'}/${smc.metadata?.name ?? ''}`
  const resourceName = typeof config[resource.field] === 'string' ? (config[resource.field] as string) : ''
  const pools = (config.ippools ?? {}) as { ipv4?: unknown; ipv6?: unknown }
  const poolCount = (Array.isArray(pools.ipv4) ? pools.ipv4.length : 0) + (Array.isArray(pools.ipv6) ? pools.ipv6.length : 0)
  const errs: FieldError[] = []
  // the type's own checks already refuse an empty sriov/ib-sriov resourceName or ipoib master
  if (injectRDMA && resourceName === '' && !resource.requiredByType) {
    errs.push(required(`${at}.${resource.field}`, `rdmaResourceName can not empty for ${who}`))
  }
  if (poolCount === 0 && (injectRDMA || (injectNetwork && resourceName !== ''))) {
    errs.push(required(`${at}.ippools`, `no any ippools configured for ${who}`))
  }
  return errs
}

// SMC-V-31
function checkChainedPlugins(configs: unknown): FieldError[] {
  if (!Array.isArray(configs)) return []
  return configs.flatMap((config, i) => {
    const problem = cniNetworkConfigProblem(config)
    return problem ? [forbidden(`spec.chainCNIJsonData[${i}]`, `invalid ${config}: ${problem}`)] : []
  })
}
