#!/usr/bin/env node
import { handleError } from './errors';
import { program } from './program';

program()
  .parseAsync(process.argv)
  .catch((e: unknown) => handleError(e));
