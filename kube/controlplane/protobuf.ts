// Request bodies in Kubernetes protobuf (`application/vnd.kubernetes.protobuf`), which `kubectl create
// namespace|configmap|secret` send and client-go never retries as JSON. Only those kinds are decoded
// (field numbers from k8s.io/api and k8s.io/apimachinery generated.proto); anything else gets 415.
import { badRequest, unsupportedMediaType } from './errors.ts'
import { timestamp } from './objectmeta.ts'

type Scalar = 'string' | 'bytes' | 'int64' | 'bool'
type FieldType = Scalar | { message: MessageSchema } | { map: 'string' | 'bytes' } | 'time'

interface Field {
  name: string
  type: FieldType
  repeated?: boolean
}

interface MessageSchema {
  name: string
  fields: Record<number, Field>
}

const ownerReference: MessageSchema = {
  name: 'OwnerReference',
  fields: {
    1: { name: 'kind', type: 'string' },
    3: { name: 'name', type: 'string' },
    4: { name: 'uid', type: 'string' },
    5: { name: 'apiVersion', type: 'string' },
    6: { name: 'controller', type: 'bool' },
    7: { name: 'blockOwnerDeletion', type: 'bool' },
  },
}

const objectMeta: MessageSchema = {
  name: 'ObjectMeta',
  fields: {
    1: { name: 'name', type: 'string' },
    2: { name: 'generateName', type: 'string' },
    3: { name: 'namespace', type: 'string' },
    4: { name: 'selfLink', type: 'string' },
    5: { name: 'uid', type: 'string' },
    6: { name: 'resourceVersion', type: 'string' },
    7: { name: 'generation', type: 'int64' },
    8: { name: 'creationTimestamp', type: 'time' },
    9: { name: 'deletionTimestamp', type: 'time' },
    10: { name: 'deletionGracePeriodSeconds', type: 'int64' },
    11: { name: 'labels', type: { map: 'string' } },
    12: { name: 'annotations', type: { map: 'string' } },
    13: { name: 'ownerReferences', type: { message: ownerReference }, repeated: true },
    14: { name: 'finalizers', type: 'string', repeated: true },
  },
}

const kinds: Record<string, MessageSchema> = {
  ConfigMap: {
    name: 'ConfigMap',
    fields: {
      1: { name: 'metadata', type: { message: objectMeta } },
      2: { name: 'data', type: { map: 'string' } },
      3: { name: 'binaryData', type: { map: 'bytes' } },
      4: { name: 'immutable', type: 'bool' },
    },
  },
  Secret: {
    name: 'Secret',
    fields: {
      1: { name: 'metadata', type: { message: objectMeta } },
      2: { name: 'data', type: { map: 'bytes' } },
      3: { name: 'type', type: 'string' },
      4: { name: 'stringData', type: { map: 'string' } },
      5: { name: 'immutable', type: 'bool' },
    },
  },
  Namespace: {
    name: 'Namespace',
    fields: {
      1: { name: 'metadata', type: { message: objectMeta } },
      2: { name: 'spec', type: { message: { name: 'NamespaceSpec', fields: { 1: { name: 'finalizers', type: 'string', repeated: true } } } } },
      3: { name: 'status', type: { message: { name: 'NamespaceStatus', fields: { 1: { name: 'phase', type: 'string' } } } } },
    },
  },
}

const unknownMessage: MessageSchema = {
  name: 'Unknown',
  fields: {
    1: { name: 'typeMeta', type: { message: { name: 'TypeMeta', fields: { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } } } } },
    2: { name: 'raw', type: 'bytes' },
    3: { name: 'contentEncoding', type: 'string' },
    4: { name: 'contentType', type: 'string' },
  },
}

const timeMessage: MessageSchema = { name: 'Time', fields: { 1: { name: 'seconds', type: 'int64' }, 2: { name: 'nanos', type: 'int64' } } }

class Reader {
  readonly bytes: Buffer
  at = 0

  constructor(bytes: Buffer) {
    this.bytes = bytes
  }

  get done(): boolean {
    return this.at >= this.bytes.length
  }

  varint(): bigint {
    let value = 0n
    for (let shift = 0n; ; shift += 7n) {
      if (this.at >= this.bytes.length) throw badRequest('protobuf: truncated varint')
      const byte = this.bytes[this.at++]
      value |= BigInt(byte & 0x7f) << shift
      if ((byte & 0x80) === 0) return value
    }
  }

  take(length: number): Buffer {
    if (this.at + length > this.bytes.length) throw badRequest('protobuf: truncated field')
    const slice = this.bytes.subarray(this.at, this.at + length)
    this.at += length
    return slice
  }
}

type Json = Record<string, unknown>

function decodeMessage(bytes: Buffer, schema: MessageSchema): Json {
  const reader = new Reader(bytes)
  const result: Json = {}
  while (!reader.done) {
    const key = Number(reader.varint())
    const number = key >>> 3
    const wireType = key & 7
    const field = schema.fields[number]
    if (!field) throw unsupportedMediaType(`protobuf field ${number} of ${schema.name} is not understood by the local control plane; send JSON (kubectl apply) instead`)
    let value: unknown
    if (wireType === 0) {
      const raw = reader.varint()
      value = field.type === 'bool' ? raw !== 0n : Number(BigInt.asIntN(64, raw))
    } else if (wireType === 2) {
      value = decodeLengthDelimited(reader.take(Number(reader.varint())), field)
    } else throw badRequest(`protobuf: unexpected wire type ${wireType} for ${schema.name}.${field.name}`)
    if (typeof field.type === 'object' && 'map' in field.type) {
      const [k, v] = value as [string, unknown]
      result[field.name] = { ...(result[field.name] as Json | undefined), [k]: v }
    } else if (field.repeated) (result[field.name] = (result[field.name] as unknown[] | undefined) ?? []).push(value)
    else result[field.name] = value
  }
  return withoutZeroValues(result)
}

function decodeLengthDelimited(bytes: Buffer, field: Field): unknown {
  const type = field.type
  if (type === 'string') return bytes.toString('utf8')
  if (type === 'bytes') return Buffer.from(bytes)
  if (type === 'time') {
    const { seconds } = decodeMessage(bytes, timeMessage) as { seconds?: number }
    return seconds === undefined ? undefined : timestamp(new Date(seconds * 1000))
  }
  if (typeof type === 'object' && 'message' in type) return decodeMessage(bytes, type.message)
  if (typeof type === 'object' && 'map' in type) {
    const entry = decodeMessage(bytes, {
      name: `${field.name} entry`,
      fields: { 1: { name: 'key', type: 'string' }, 2: { name: 'value', type: type.map === 'bytes' ? 'bytes' : 'string' } },
    })
    const value = entry.value ?? (type.map === 'bytes' ? Buffer.alloc(0) : '')
    return [entry.key ?? '', Buffer.isBuffer(value) ? value.toString('base64') : value]
  }
  throw badRequest(`protobuf: ${field.name} is not length-delimited`)
}

// Go's generated marshallers write every non-pointer field; JSON clients leave the zero values out.
function withoutZeroValues(message: Json): Json {
  for (const [key, value] of Object.entries(message)) {
    if (value === undefined || value === '' || value === 0 || value === false) delete message[key]
  }
  return message
}

const magic = Buffer.from([0x6b, 0x38, 0x73, 0x00])

/** The object in a protobuf request body, as the JSON a client would have sent. */
export function decodeProtobufObject(body: Buffer): Json {
  if (!body.subarray(0, 4).equals(magic)) throw badRequest('protobuf: the body does not start with the k8s magic number')
  const envelope = decodeMessage(body.subarray(4), unknownMessage) as { typeMeta?: { apiVersion?: string; kind?: string }; raw?: Buffer; contentEncoding?: string }
  const kind = envelope.typeMeta?.kind ?? ''
  const schema = kinds[kind]
  if (!schema || envelope.contentEncoding) {
    throw unsupportedMediaType(`the local control plane decodes protobuf only for ${Object.keys(kinds).join(', ')}; send ${kind || 'this object'} as JSON (kubectl apply) instead`)
  }
  const object = decodeMessage(envelope.raw ?? Buffer.alloc(0), schema)
  return { apiVersion: envelope.typeMeta?.apiVersion ?? 'v1', kind, ...object }
}
