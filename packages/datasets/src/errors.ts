import { SrqError } from '@srq/quantizers';

/**
 * A dataset file or directory is missing, truncated or not in the expected format. The one-line
 * message names the file; `fields.file` holds its path.
 */
export class DatasetError extends SrqError {
  constructor(message: string, fields: { file?: string; [key: string]: unknown } = {}) {
    super('DATASET', message, fields);
  }
}
