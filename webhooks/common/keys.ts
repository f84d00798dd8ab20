// The finalizer, label keys and owner facts Spiderpool writes and reads on pools and subnets.

export const spiderpoolFinalizer = 'spiderpool.spidernet.io'
export const spiderpoolAPIVersion = 'spiderpool.spidernet.io/v2beta1'

export const ippoolCIDRLabel = 'ipam.spidernet.io/ippool-cidr'
export const subnetCIDRLabel = 'ipam.spidernet.io/subnet-cidr'
export const ownerSpiderSubnetLabel = 'ipam.spidernet.io/owner-spider-subnet'
/** its presence marks a pool the controller created for an application */
export const ownerApplicationNameLabel = 'ipam.spidernet.io/owner-application-name'

/** the only podAffinity matchLabels an auto-created pool may carry */
export const autoPoolPodAffinityKeys: readonly string[] = [
  'ipam.spidernet.io/app-api-group',
  'ipam.spidernet.io/app-api-version',
  'ipam.spidernet.io/app-kind',
  'ipam.spidernet.io/app-namespace',
  'ipam.spidernet.io/app-name',
]
