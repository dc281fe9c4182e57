import { createRequire } from 'node:module';
import type { CompareSpec } from './compare';
import type { CellStats } from './compare-report';

/**
 * The accuracy-vs-bits plot of a comparison: test error (mean over seeds, bars ± 1 std) against
 * bits per method, full precision as a horizontal line — a Vega-Lite chart rendered to SVG by
 * Vega, and to PNG by resvg with the bundled DejaVu Sans (no system fonts, same image everywhere).
 */
export async function renderPlot(spec: CompareSpec, stats: CellStats[]): Promise<{ svg: string; png: Uint8Array }> {
  const [vega, vl, { Resvg }] = await Promise.all([import('vega'), import('vega-lite'), import('@resvg/resvg-js')]);
  const rows = stats
    .filter((s) => s.method !== 'fp')
    .map((s) => ({ method: s.method, bits: s.bits, mean: s.mean, lo: s.mean - (Number.isNaN(s.std) ? 0 : s.std), hi: s.mean + (Number.isNaN(s.std) ? 0 : s.std) }));
  const fp = stats.find((s) => s.method === 'fp');
  const seeds = Math.max(...stats.map((s) => s.n), 0);
  const x = { field: 'bits', type: 'quantitative' as const, title: 'bits (weights = activations)', scale: { domain: [Math.min(...spec.bits) - 0.25, Math.max(...spec.bits) + 0.25] }, axis: { values: spec.bits, format: 'd' } };
  const y = { field: 'mean', type: 'quantitative' as const, title: 'test error (%)', scale: { zero: false } };
  const color = { field: 'method', type: 'nominal' as const, title: 'method' };
  const chart = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${spec.model} on ${spec.dataset}: test error vs bits (mean ± std over ${seeds} seed${seeds === 1 ? '' : 's'}, ${spec.epochs} epoch${spec.epochs === 1 ? '' : 's'})`,
    width: 480,
    height: 300,
    background: 'white',
    layer: [
      { data: { values: rows }, mark: { type: 'line', point: true }, encoding: { x, y, color } },
      { data: { values: rows }, mark: { type: 'rule' }, encoding: { x, y: { field: 'lo', type: 'quantitative' as const }, y2: { field: 'hi' }, color } },
      ...(fp ? [{ data: { values: [{ mean: fp.mean, label: `fp ${fp.mean.toFixed(2)}%` }] }, mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { y } }] : []),
      ...(fp ? [{ data: { values: [{ mean: fp.mean, label: `full precision ${fp.mean.toFixed(2)}%` }] }, mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: 'gray' }, encoding: { y, x: { datum: Math.min(...spec.bits) - 0.25, type: 'quantitative' as const }, text: { field: 'label' } } }] : []),
    ],
  };
  const view = new vega.View(vega.parse(vl.compile(chart as never).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const font = createRequire(import.meta.url).resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
  const png = new Resvg(svg, { font: { fontFiles: [font], loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans' }, fitTo: { mode: 'zoom', value: 2 }, background: 'white' }).render().asPng();
  return { svg, png };
}
