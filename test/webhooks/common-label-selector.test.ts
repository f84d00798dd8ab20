import t from 'tap'
import { isQualifiedName, isValidLabelValue, validateLabelSelector } from '../../webhooks/common/label-selector.ts'

const nameRegex =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"

t.test('qualified names follow Kubernetes, with its messages word for word', async (t) => {
  for (const good of ['app', 'ipam.spidernet.io/app-name', 'A_b.c-9', 'example.com/MyName', 'a'.repeat(63)]) t.same(isQualifiedName(good), [], good)
  t.same(isQualifiedName('bad key'), [`name part ${nameRegex}`])
  t.same(isQualifiedName('-x'), [`name part ${nameRegex}`])
  t.same(isQualifiedName(''), ['name part must be non-empty', `name part ${nameRegex}`])
  t.same(isQualifiedName('a'.repeat(64)), ['name part must be no more than 63 characters'])
  t.same(isQualifiedName('/x'), ['prefix part must be non-empty'])
  t.same(isQualifiedName('Example.com/x'), [
    "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  ])
  t.same(isQualifiedName('a/b/c'), [
    `a qualified name ${nameRegex} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
  ])
})

t.test('label values are empty or a short alphanumeric run', async (t) => {
  t.same(isValidLabelValue(''), [])
  t.same(isValidLabelValue('v1.2_x-y'), [])
  t.same(isValidLabelValue('a'.repeat(64)), ['must be no more than 63 characters'])
  t.same(isValidLabelValue('bad!'), [
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
  ])
})

t.test('a selector reports every error at Kubernetes field paths', async (t) => {
  t.same(validateLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, 'spec.podAffinity'), [])
  const errors = validateLabelSelector(
    {
      matchLabels: { 'bad key': 'bad value!' },
      matchExpressions: [{ key: 'k', operator: 'In', values: ['ok', 'not ok'] }],
    },
    'spec.podAffinity',
  )
  t.same(
    errors.map((e) => [e.field, e.value]),
    [
      ['spec.podAffinity.matchLabels', 'bad key'],
      ['spec.podAffinity.matchLabels', 'bad value!'],
      ['spec.podAffinity.matchExpressions[0].values[1]', 'not ok'],
    ],
  )
})
