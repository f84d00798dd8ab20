// metav1.LabelSelector as k8s.io/apimachinery reads it (LabelSelectorAsSelector): every requirement must hold.

import type { LabelSelector } from './types.ts'

export type Labels = Readonly<Record<string, string>>

export interface LabelRequirement {
  key: string
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'
  values: readonly string[]
}

export class LabelSelectorError extends Error {
  override name = 'LabelSelectorError'
}

/** The requirements of a selector; an absent selector has none and so selects everything. Throws what the API server would refuse. */
export function labelRequirements(selector: LabelSelector | undefined): LabelRequirement[] {
  const requirements: LabelRequirement[] = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => ({
    key,
    operator: 'In',
    values: [value],
  }))
  for (const { key, operator, values = [] } of selector?.matchExpressions ?? []) {
    switch (operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) throw new LabelSelectorError(`for 'in', 'notin' operators, values set can't be empty`)
        break
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) throw new LabelSelectorError('values set must be empty for exists and does not exist')
        break
      default:
        throw new LabelSelectorError(`${JSON.stringify(operator)} is not a valid label selector operator`)
    }
    requirements.push({ key, operator, values })
  }
  return requirements
}

export function requirementsMatch(requirements: readonly LabelRequirement[], labels: Labels): boolean {
  return requirements.every(({ key, operator, values }) => {
    const present = Object.hasOwn(labels, key)
    switch (operator) {
      case 'In':
        return present && values.includes(labels[key])
      case 'NotIn':
        return !present || !values.includes(labels[key])
      case 'Exists':
        return present
      case 'DoesNotExist':
        return !present
    }
  })
}
