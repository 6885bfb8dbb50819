import { stripVTControlCharacters } from 'util';

/** A matcher's message as people read it: Jest colours parts of it when FORCE_COLOR is set. */
export const messageText = (result: { message: () => string }): string => stripVTControlCharacters(result.message());
