// SpiderMultusConfig defaulting, SMC-M-01..M-13 in Spiderpool's order; applied whether or not
// the object is terminating. On UPDATE from cniType custom to another type, what M-09/M-10 added
// for custom is dropped first (leaveCustom).
import { normaliseCoordinatorSpec } from '../coordinatorspec/normalise.ts'
import { injectAnnotations } from './annotations.ts'
import type { CoordinatorSpec, MultusConfigSpec, SpiderMultusConfig } from '../../schemas/types.ts'
import { isObject } from '../../ipam/json.ts'

type Config<K extends keyof MultusConfigSpec> = NonNullable<MultusConfigSpec[K]>
type Pools = NonNullable<Config<'macvlan'>['ippools']>

/** Go's empty SpiderpoolPools: ipv4/ipv6 are empty and omitted, so it serialises as `{}`. */
const emptyPools = (): Pools => ({})

/** `oldSMC`: the stored object on UPDATE, absent on CREATE. */
export function defaultSpiderMultusConfig(smc: SpiderMultusConfig, oldSMC?: SpiderMultusConfig): void {
  const spec = (smc.spec ??= {})
  // SMC-M-01
  spec.cniType ??= 'custom'
  if (spec.cniType !== 'custom' && isObject(oldSMC?.spec) && oldSMC.spec.cniType === 'custom') leaveCustom(spec, oldSMC.spec)
  switch (spec.cniType) {
    case 'macvlan':
      // SMC-M-02
      if (isObject(spec.macvlan)) defaultMasterConfig(spec.macvlan)
      break
    case 'ipvlan':
      // SMC-M-03
      if (isObject(spec.ipvlan)) defaultMasterConfig(spec.ipvlan)
      break
    case 'vlan':
      // SMC-M-04
      if (isObject(spec.vlan)) defaultVlan(spec.vlan)
      break
    case 'sriov':
      // SMC-M-05
      if (isObject(spec.sriov)) defaultSriov(spec.sriov)
      break
    case 'ib-sriov':
      // SMC-M-06
      if (isObject(spec.ibsriov)) defaultIBSriov(spec.ibsriov)
      break
    case 'ipoib':
      // SMC-M-07
      if (isObject(spec.ipoib)) spec.ipoib.ippools ??= emptyPools()
      break
    case 'ovs':
      // SMC-M-08
      if (isObject(spec.ovs)) {
        spec.ovs.vlan ??= 0
        spec.ovs.ippools ??= emptyPools()
      }
      break
    case 'custom':
      // SMC-M-09
      spec.customCNI ??= ''
      break
  }

  if (spec.cniType === 'custom') {
    // SMC-M-10
    delete spec.coordinator
    spec.enableCoordinator = false
  } else {
    // SMC-M-11 (also for an unknown cniType, which validation refuses)
    // The CRD default, set here too so that a store without CRD defaulting renders the same NAD.
    spec.enableCoordinator ??= true
    spec.coordinator = isObject(spec.coordinator) ? defaultCoordinator(spec.coordinator) : newCoordinator()
    // COORD-M-04/05 as for a SpiderCoordinator, so that a bare IP in hijackCIDR does not fail at
    // CNI ADD; when an entry cannot be normalised nothing changes and validation names it.
    normaliseCoordinatorSpec(spec.coordinator)
  }

  // SMC-M-12
  spec.chainCNIJsonData ??= []

  // SMC-M-13: the Pod webhook finds the SMCs of an injection group by these labels
  const annotations = smc.metadata?.annotations ?? {}
  for (const key of injectAnnotations) {
    if (!Object.hasOwn(annotations, key)) continue
    const meta = (smc.metadata ??= {})
    meta.labels = { ...meta.labels, [key]: annotations[key] }
  }
}

// Deliberate difference from Spiderpool, which refuses this update (SMC-V-12). A `custom` SMC
// turned into another type by a patch — the quick start's `kubectl apply` of its macvlan SMC over
// the placeholder init made for `--default-multus-config` — still carries what SMC-M-09/M-10 put
// there for custom. Those are dropped, so the new type is defaulted as if created: an empty
// customCNI (it configures nothing; a non-empty one is the user's and SMC-V-12 still refuses it),
// and enableCoordinator false when the stored object had it false too (SMC-M-10 forced it), so
// SMC-M-11 turns the coordinator on. The price: `enableCoordinator: false` written in that same
// update cannot be told from the carried-over value and becomes true; once the type has changed,
// a second apply or a patch sets it.
function leaveCustom(spec: MultusConfigSpec, oldSpec: MultusConfigSpec): void {
  if (spec.customCNI === '') delete spec.customCNI
  if (spec.enableCoordinator === false && oldSpec.enableCoordinator === false) delete spec.enableCoordinator
}

// SMC-M-02, SMC-M-03: macvlan and ipvlan
function defaultMasterConfig(config: Config<'macvlan'> | Config<'ipvlan'>): void {
  config.vlanID ??= 0
  if (isObject(config.bond)) config.bond.options ??= ''
  config.mtu ??= 0
  config.rdmaResourceName ??= ''
  config.ippools ??= emptyPools()
}

// SMC-M-04: in auto mode the VLAN id is chosen per pod, so it stays absent
function defaultVlan(config: Config<'vlan'>): void {
  config.vlanMode ??= 'manual'
  if (config.vlanMode === 'manual') config.vlanID ??= 0
  config.rdmaResourceName ??= ''
  config.mtu ??= 0
  if (isObject(config.bond)) config.bond.options ??= ''
  config.ippools ??= emptyPools()
}

// SMC-M-05
function defaultSriov(config: Config<'sriov'>): void {
  config.vlanID ??= 0
  config.mtu ??= 0
  config.minTxRateMbps ??= 0
  config.maxTxRateMbps ??= 0
  config.rdmaIsolation ??= false
  config.resourceName ??= ''
  if (isObject(config.ippools)) config.ippools.matchMasterSubnet ??= false
  else config.ippools = { matchMasterSubnet: false }
}

// SMC-M-06
function defaultIBSriov(config: Config<'ibsriov'>): void {
  config.pkey ??= ''
  config.enableIbKubernetes ??= false
  config.rdmaIsolation ??= true
  config.resourceName ??= ''
  config.linkState ??= 'enable'
  config.ippools ??= emptyPools()
}

// SMC-M-11, no coordinator given. Spiderpool's webhook and the CRD agree on tunePodRoutes: true.
function newCoordinator(): CoordinatorSpec {
  return {
    mode: 'auto',
    hijackCIDR: [],
    policyRoutes: [],
    vethLinkAddress: '',
    podMACPrefix: '',
    podDefaultRouteNIC: '',
    podRPFilter: 0,
    tunePodRoutes: true,
  }
}

// SMC-M-11, coordinator given. Spiderpool's webhook defaults tunePodRoutes to false here, but the
// CRD default (true) always wins in a real cluster (quirk 4), so true it is.
function defaultCoordinator(coordinator: CoordinatorSpec): CoordinatorSpec {
  coordinator.mode ??= 'auto'
  coordinator.hijackCIDR ??= []
  coordinator.policyRoutes ??= []
  coordinator.podMACPrefix ??= ''
  coordinator.podDefaultRouteNIC ??= ''
  coordinator.tunePodRoutes ??= true
  coordinator.txQueueLen ??= 0
  coordinator.podRPFilter ??= 0
  return coordinator
}
