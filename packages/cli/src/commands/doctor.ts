import { Command } from 'commander';
import { doctor } from '@srq/backends';
import { handleError } from '../errors';

/** `srq doctor`. */
export function doctorCommand(): Command {
  return new Command('doctor')
    .description('which backends load, with SIMD and threads, and the versions in use')
    .option('--json', 'print the report as JSON', false)
    .action(async (flags: { json: boolean }) => {
      try {
        const report = await doctor();
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(report)}\n`);
          return;
        }
        process.stdout.write(`node ${report.node} (${report.platform})\n`);
        for (const [pkg, v] of Object.entries(report.versions)) process.stdout.write(`${pkg}: ${v ?? 'not installed'}\n`);
        for (const b of report.backends) {
          process.stdout.write(b.ok ? `backend ${b.name}: ok (${b.backend}${b.simd === null ? '' : `, SIMD ${b.simd ? 'on' : 'off'}`}, ${b.threads} thread${b.threads === 1 ? '' : 's'})\n` : `backend ${b.name}: unavailable — ${b.error}\n`);
        }
      } catch (e) {
        handleError(e);
      }
    });
}
