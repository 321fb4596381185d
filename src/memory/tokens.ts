/** Tokens in a text, by the documented default approximation: about four characters a token. Pass a model's tokenizer where it must be exact. */
export const approximateTextTokens = (text: string): number => Math.ceil(text.length / 4);
