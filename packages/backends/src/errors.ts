import { SrqError } from '@srq/quantizers';

/** A backend could not be loaded or selected; the message says why and what to do. */
export class BackendError extends SrqError {
  constructor(message: string, fields: { backend: string; [key: string]: unknown }) {
    super('BACKEND', message, fields);
  }
}
