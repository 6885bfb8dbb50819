/**
 * An error the user can fix: a bad file, flag or option. Its message is one line that names the
 * problem and the fix. The CLI prints it and exits 2; the API throws it as it is.
 */
export class BadInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadInputError';
  }
}
