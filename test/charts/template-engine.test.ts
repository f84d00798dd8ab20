// The Go-template subset of scripts/chart/: what it renders as helm does, and that everything
// outside the subset fails loudly with the file and line.
import t from 'tap'
import { renderTemplate, TemplateError } from '../../scripts/chart/template.ts'
import { applySet, mergeValues, unknownKeys, ValuesError } from '../../scripts/chart/values.ts'

const data = {
  Values: { name: 'x', on: true, off: false, n: 3, empty: '', list: ['a', 'b'], map: { b: 2, a: 1 }, nested: { deep: { v: 'd' } } },
  Release: { Namespace: 'kube-system' },
}
const thrown = (f: () => unknown): Error | undefined => {
  try {
    f()
  } catch (err) {
    return err as Error
  }
  return undefined
}
const r = (source: string) => renderTemplate(source, data, 'test.yaml')

t.test('fields, literals and pipes render as text/template does', async (t) => {
  t.equal(r('a: {{ .Values.name }}'), 'a: x')
  t.equal(r('{{ .Values.nested.deep.v | quote }}'), '"d"')
  t.equal(r('{{ .Values.empty | default "fallback" }}'), 'fallback')
  t.equal(r('{{ "s" }}{{ 12 }}{{ true }}'), 's12true')
  t.equal(r('{{ $.Release.Namespace }}'), 'kube-system')
  t.equal(r('{{ printf "%s-%d" .Values.name .Values.n }}'), 'x-3')
  t.equal(r('{{ .Values.name | b64enc }}'), 'eA==')
  t.equal(r('{{ "  y  " | trim }}'), 'y')
  t.equal(r('{{ toJson .Values.list }}'), '["a","b"]')
})

t.test('trim markers remove the whitespace on their side, newlines included', async (t) => {
  t.equal(r('a:\n  {{- " b" }}\nc'), 'a: b\nc')
  t.equal(r('a\n{{ "x" -}}\n\n  b'), 'a\nxb')
  t.equal(r('a\n{{- /* a comment */ -}}\nb'), 'ab')
  t.equal(r('a{{/* kept apart */}}b'), 'ab')
})

t.test('if / else if / else, with and range follow Go truth', async (t) => {
  t.equal(r('{{ if .Values.off }}1{{ else if .Values.n }}2{{ else }}3{{ end }}'), '2')
  t.equal(r('{{ if .Values.empty }}1{{ else }}0{{ end }}'), '0')
  t.equal(r('{{ if and .Values.on (not .Values.off) }}yes{{ end }}'), 'yes')
  t.equal(r('{{ if or .Values.off .Values.empty }}yes{{ else }}no{{ end }}'), 'no')
  t.equal(r('{{ if eq .Values.name "x" }}eq{{ end }}{{ if ne .Values.name "x" }}ne{{ end }}'), 'eq')
  t.equal(r('{{ with .Values.nested.deep }}{{ .v }}{{ end }}'), 'd')
  t.equal(r('{{ with .Values.empty }}{{ . }}{{ else }}none{{ end }}'), 'none')
  t.equal(r('{{ range .Values.list }}[{{ . }}]{{ end }}'), '[a][b]')
  t.equal(r('{{ range $k, $v := .Values.map }}{{ $k }}={{ $v }};{{ end }}'), 'a=1;b=2;', 'maps range in key order')
  t.equal(r('{{ range .Values.list }}{{ $.Values.name }}{{ end }}'), 'xx', '$ stays the root inside range')
})

t.test('define and include render a named template with the given data', async (t) => {
  t.equal(r('{{- define "n" -}}name={{ .Values.name }}{{- end -}}\n{{ include "n" . | quote }}'), '"name=x"')
})

t.test('toYaml writes sorted keys and unindented lists; nindent and indent prefix every line', async (t) => {
  t.equal(r('{{ toYaml .Values.map }}'), 'a: 1\nb: 2')
  t.equal(r('k:{{ toYaml .Values | nindent 2 }}').split('\n').slice(0, 4).join('\n'), 'k:\n  empty: ""\n  list:\n  - a')
  t.equal(r('{{ "a\\nb" | indent 3 }}'), '   a\n   b')
  t.equal(r('{{ toYaml "on" }}'), '"on"', 'YAML 1.1 booleans stay strings, as sigs.k8s.io/yaml quotes them')
})

t.test('anything outside the subset fails with the file and line', async (t) => {
  const fails = (source: string, message: RegExp, what: string) => {
    const err = thrown(() => r(source))
    t.ok(err instanceof TemplateError, `${what}: a TemplateError`)
    t.match(err?.message, message, what)
  }
  fails('\n\n{{ .Values.nope }}', /^test\.yaml:3: \.Values\.nope does not exist/, 'a key the values do not have')
  fails('{{ .Values.name | upper }}', /test\.yaml:1: unsupported function upper/, 'a function outside the subset')
  fails('{{ template "x" . }}', /unsupported action/, 'the template action')
  fails('{{ block "x" . }}{{ end }}', /unsupported action/, 'block')
  fails('{{ .Values.map }}', /is a map: print it with toYaml/, 'printing a map')
  fails('{{ .Values.list }}', /is a list/, 'printing a list')
  fails('{{ if .Values.on }}open', /never closed/, 'an unclosed if')
  fails('{{ end }}', /without an open block/, 'a stray end')
  fails('{{ include "missing" . }}', /no template "missing"/, 'an undefined include')
  fails('{{ $x = 1 }}', /assignment with = is not supported/, 'reassignment')
  fails('{{ .Values.name.sub }}', /not a map/, 'a field of a string')
  fails('{{ .Values.name "arg" }}', /only a function takes arguments/, 'arguments to a value')
  fails('{{ printf "%q" .Values.name }}', /only %s %d %v/, 'a printf verb outside the subset')
  fails('{{ .Values.name', /unclosed action/, 'an unclosed action')
  fails('{{ nil }}', /nil is not supported/, 'nil')
})

t.test('--set parses as Helm types it: booleans, whole numbers, null, lists, escaped dots', async (t) => {
  const v: Record<string, unknown> = {}
  applySet(v, 'a.b=true,a.c=3,s=macvlan-conf,l={x,y},e\\.f=1,n=null,v=1.5')
  t.same(v, { a: { b: true, c: 3 }, s: 'macvlan-conf', l: ['x', 'y'], 'e.f': 1, n: null, v: '1.5' })
  t.ok(thrown(() => applySet({}, 'a[0]=x')) instanceof ValuesError, 'list indexes are refused, not misread')
  t.ok(thrown(() => applySet({}, 'novalue')) instanceof ValuesError, 'an expression without = is refused')
  t.same(mergeValues({ a: { b: 1, c: 2 }, d: 1 }, { a: { b: 3 }, d: null }), { a: { b: 3, c: 2 } }, 'maps merge, null removes')
  t.same(unknownKeys({ a: { b: 1 } }, { a: { b: 2, typo: 1 }, other: 1 }), ['a.typo', 'other'])
})
