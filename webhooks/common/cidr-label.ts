// The value of the `ipam.spidernet.io/ippool-cidr` and `…/subnet-cidr` labels: the subnet text
// with the first 3 `.`, the first 7 `:` and the first `/` turned into `-`, as Spiderpool writes it.
import { parseCIDROfFamily, type Family } from '../../ipam/ip.ts'

function replaceFirst(text: string, char: string, count: number): string {
  let out = text
  for (let i = 0; i < count && out.includes(char); i++) out = out.replace(char, '-')
  return out
}

/** undefined when the text is not a CIDR of the family (the label is then not written). */
export function cidrLabelValue(subnet: unknown, family: unknown): string | undefined {
  if (typeof subnet !== 'string' || (family !== 4 && family !== 6)) return undefined
  if (!parseCIDROfFamily(subnet, family as Family)) return undefined
  return replaceFirst(replaceFirst(replaceFirst(subnet, '.', 3), ':', 7), '/', 1)
}
