// Reading untrusted JSON (annotations, records, reviews): is this value a JSON object?

/** A JSON object: not null, not an array. */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
