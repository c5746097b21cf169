// Deterministic "generation": the same prompt always yields the same tokens, so tests can check
// answers end to end (client → agent → model server → back) by recomputing them here.

const VOCAB = [
  "the", "model", "answers", "quickly", "with", "a", "small", "green", "token", "stream",
  "of", "words", "that", "look", "like", "text", "and", "carry", "no", "meaning",
  "edge", "router", "worker", "load", "queue", "batch", "light", "river", "stone", "cloud",
  "north", "signal", "paper", "glass", "orange", "silent", "rapid", "gentle", "open", "late",
  "early", "bright", "field", "window", "garden", "number", "story", "engine", "market", "winter",
  "summer", "circle", "bridge", "yellow", "simple", "steady", "ocean", "forest", "valley", "city",
  "music", "travel", "morning", "evening",
] as const;

/** FNV-1a, 32 bits: stable across runs and platforms. */
export function promptSeed(prompt: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < prompt.length; i++) {
    h ^= prompt.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Token ids for `prompt`: an xorshift32 sequence seeded by the prompt. */
export function tokenIds(prompt: string, count: number): number[] {
  let x = promptSeed(prompt) || 1;
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    ids.push(x % VOCAB.length);
  }
  return ids;
}

/** The text of one token id, with the leading space BPE vocabularies put on word starts. */
export function tokenText(id: number): string {
  return ` ${VOCAB[id % VOCAB.length]}`;
}

/** The whole completion of `prompt` with `count` tokens. */
export function completionText(prompt: string, count: number): string {
  return tokenIds(prompt, count).map(tokenText).join("");
}

/** Prompt length in "tokens", for `usage` (whitespace-separated words, at least 1). */
export function promptTokens(prompt: string): number {
  return Math.max(1, prompt.split(/\s+/).filter(Boolean).length);
}
