import type { Command } from 'commander';
import { BadInputError } from '../../errors';
import { describeFingerprint, fingerprintFor, type FingerprintReport } from '../../runtime/fingerprint';
import { fixtureSettings } from '../../runtime/fixture';
import { providerFailure } from '../../runtime/providers';
import { now } from '../../runtime/clock';
import { tool } from '../../version';
import { addSessionFlags, CommandContext, emit, EXIT, type SessionFlags } from '../common';

interface FingerprintFlags extends SessionFlags {
  json?: string | boolean;
}

export type { FingerprintReport };

/**
 * `batchproof fingerprint [--provider P] [--json]`: what a session with these settings runs on,
 * and which providers work here. Exit 2 when the provider asked for does not work here.
 */
export function registerFingerprint(program: Command, { out, setExit }: CommandContext): void {
  addSessionFlags(
    program
      .command('fingerprint')
      .description('print what runs where (onnxruntime, provider, options, CPU, GPU) and which providers work here; exit 2 when --provider does not'),
  )
    .option('--json [file]', 'print the fingerprint as JSON, or write it to FILE (and print it for people)')
    .action(async (flags: FingerprintFlags) => {
      const settings = fixtureSettings({
        provider: flags.provider ?? 'cpu',
        ...(flags.threads !== undefined && { threads: flags.threads }),
        ...(flags.optimization !== undefined && { optimization: flags.optimization }),
        ...(flags.deterministic && { deterministic: true }),
      });
      const started = now();
      const { availableProviders } = await import('../../runtime/providers');
      const providers = await availableProviders();
      // The time is probing the providers: loading their runtimes, no model run.
      const timing = { totalMs: Math.round(now() - started), inferenceMs: 0 };
      const report: FingerprintReport = { schema: 1, kind: 'fingerprint', tool, fingerprint: fingerprintFor(settings), providers, notes: [], timing };
      emit(report, () => formatFingerprint(report), flags.json, out);
      const pinned = providers.find((p) => p.name === settings.provider);
      if (pinned && !pinned.available) {
        // The listing is printed first, so the user sees what does work.
        throw new BadInputError(providerFailure(pinned.name, pinned.reason ?? 'unknown reason'));
      }
      setExit(EXIT.pass);
    });
}

export function formatFingerprint(report: FingerprintReport): string {
  const f = report.fingerprint;
  const rows: [string, string][] = [
    ['onnxruntime', f.onnxruntime],
    ['node', f.node],
    ['provider', f.provider],
    ['provider options', Object.keys(f.providerOptions).length ? JSON.stringify(f.providerOptions) : 'none'],
    ['threads', String(f.threads)],
    ...(f.wasm ? ([['wasm', `onnxruntime-web ${f.wasm.version}, env.wasm.numThreads ${f.wasm.threads}, env.wasm.simd ${String(f.wasm.simd)}`]] as [string, string][]) : []),
    ['optimization', f.optimization],
    ['deterministic', String(f.deterministic)],
    ['session config', Object.entries(f.sessionConfig).map(([k, v]) => `${k}=${v}`).join(', ') || 'none'],
    ['cpu', `${f.cpu.model} [${f.cpu.flags.join(' ')}]`],
    ['cores', String(f.cores)],
    ['os', `${f.os} ${f.arch}`],
    ['gpu', f.gpu ?? `none (${f.provider} provider)`],
    ['numerics env', Object.entries(f.numericsEnv).map(([k, v]) => `${k}=${v}`).join(', ') || 'none set'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  lines.push('', 'providers:');
  const nameWidth = Math.max(...report.providers.map((p) => p.name.length));
  for (const p of report.providers) lines.push(`  ${p.name.padEnd(nameWidth)}  ${p.available ? 'available' : `not available: ${p.reason}`}`);
  lines.push('', `fingerprint: ${describeFingerprint(f)}`);
  return lines.join('\n');
}
