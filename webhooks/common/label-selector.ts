// Kubernetes' syntax rules for a LabelSelector (apimachinery ValidateLabelSelector with
// AllowInvalidLabelValueInSelector off), with Kubernetes' own messages.
import { forbidden, invalid, required, type FieldError } from '../field.ts'

export interface LabelSelectorLike {
  matchLabels?: Record<string, unknown> | null
  matchExpressions?: readonly { key?: unknown; operator?: unknown; values?: readonly unknown[] | null }[] | null
}

const encoder = new TextEncoder()
/** UTF-8 length: an ASCII text is as long as it is, anything else is encoded to be counted. */
function byteLength(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return encoder.encode(s).length
  return s.length
}
const maxLenError = (n: number) => `must be no more than ${n} characters`
// Go's RegexError: each example is followed by ", " and joined by " or " (hence Kubernetes' double spaces)
function regexError(msg: string, format: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${format}')`
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${format}')`
}

const qualifiedNameFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'
const qualifiedNameErrMsg = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
const qualifiedName = new RegExp(`^${qualifiedNameFmt}$`)
const labelValueFmt = `(${qualifiedNameFmt})?`
const labelValueErrMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
const labelValue = new RegExp(`^${labelValueFmt}$`)
const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?'
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`
const dns1123SubdomainErrMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
const dns1123Subdomain = new RegExp(`^${dns1123SubdomainFmt}$`)

export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = []
  if (byteLength(value) > 253) errs.push(maxLenError(253))
  if (!dns1123Subdomain.test(value)) errs.push(regexError(dns1123SubdomainErrMsg, dns1123SubdomainFmt, 'example.com'))
  return errs
}

/** A label key: `[prefix/]name`, prefix a DNS-1123 subdomain, name ≤ 63 alphanumerics with `-_.` inside. */
export function isQualifiedName(value: string): string[] {
  const errs: string[] = []
  const parts = value.split('/')
  let name: string
  if (parts.length === 1) name = parts[0]
  else if (parts.length === 2) {
    const prefix = parts[0]
    name = parts[1]
    if (prefix.length === 0) errs.push('prefix part must be non-empty')
    else errs.push(...isDNS1123Subdomain(prefix).map((m) => `prefix part ${m}`))
  } else {
    return [
      `a qualified name ${regexError(qualifiedNameErrMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ]
  }
  if (name.length === 0) errs.push('name part must be non-empty')
  else if (byteLength(name) > 63) errs.push(`name part ${maxLenError(63)}`)
  if (!qualifiedName.test(name)) errs.push(`name part ${regexError(qualifiedNameErrMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc')}`)
  return errs
}

/** A label value: empty, or ≤ 63 alphanumerics with `-_.` inside. */
export function isValidLabelValue(value: string): string[] {
  const errs: string[] = []
  if (byteLength(value) > 63) errs.push(maxLenError(63))
  if (!labelValue.test(value)) errs.push(regexError(labelValueErrMsg, labelValueFmt, 'MyValue', 'my_value', '12345'))
  return errs
}

/** Every syntax error of the selector, at `<path>.matchLabels` and `<path>.matchExpressions[i].…`. */
export function validateLabelSelector(selector: LabelSelectorLike, path: string): FieldError[] {
  const errors: FieldError[] = []
  const labelsPath = `${path}.matchLabels`
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    for (const msg of isQualifiedName(key)) errors.push(invalid(labelsPath, key, msg))
    for (const msg of isValidLabelValue(String(value ?? ''))) errors.push(invalid(labelsPath, value, msg))
  }
  ;(selector.matchExpressions ?? []).forEach((expr, i) => {
    const at = `${path}.matchExpressions[${i}]`
    const values = expr?.values ?? []
    switch (expr?.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) errors.push(required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'"))
        break
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) errors.push(forbidden(`${at}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        break
      default:
        errors.push(invalid(`${at}.operator`, expr?.operator, 'not a valid selector operator'))
    }
    for (const msg of isQualifiedName(String(expr?.key ?? ''))) errors.push(invalid(`${at}.key`, expr?.key, msg))
    values.forEach((value, j) => {
      for (const msg of isValidLabelValue(String(value ?? ''))) errors.push(invalid(`${at}.values[${j}]`, value, msg))
    })
  })
  return errors
}
