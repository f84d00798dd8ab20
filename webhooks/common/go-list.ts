// How Go's `%v` prints a []string inside Spiderpool's messages: `[a b c]`.
export const goList = (items: readonly string[]): string => `[${items.join(' ')}]`
