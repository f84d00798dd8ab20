// Warnings for the client, in the order webhooks gave them; kube-apiserver's recorder drops repeats.

export class Warnings {
  #texts = new Set<string>()

  add(texts: readonly string[]): void {
    for (const text of texts) this.#texts.add(text)
  }

  /** `{ warnings }` to spread into a result, or nothing when there are none. */
  result(): { warnings?: string[] } {
    return this.#texts.size === 0 ? {} : { warnings: [...this.#texts] }
  }
}
