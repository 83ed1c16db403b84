/** The keyword filter's public surface (see docs/keyword-filter.md). */
export { createKeywordFilter, KEYWORD_FILTER_NAME, KEYWORD_SHADOW_FILTER_NAME, type KeywordFilter, type KeywordFilterOptions } from './keyword-filter.ts';
export { TermLists, type AddResult, type TermListsSnapshot } from './term-lists.ts';
export { compileUserFilter, MAX_USER_TERMS, type UserTermFilter } from './user-term-filter.ts';
export { TermListError, type KeywordAction, type ListName, type Scope, type Term, type TermAction, type TermInput, type TermMode } from './terms.ts';
export { normalize, normalizeInto, NormalizedText } from './normalize.ts';
export { builtinProfanityTerms } from './builtin-profanity.ts';
