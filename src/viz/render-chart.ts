import { extname } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';

/** Output formats a chart can be written in, chosen by the file's extension. */
export const CHART_EXTENSIONS = ['.png', '.svg'] as const;

/** Fails early (before any training or evaluation) on an output path we cannot write. */
export function checkChartPath(path: string, what: string): void {
  const ext = extname(path).toLowerCase();
  if (!(CHART_EXTENSIONS as readonly string[]).includes(ext)) {
    throw new UserError(`${what} ${path}: expected a file ending in .png or .svg`);
  }
}

/**
 * Renders a Vega-Lite spec to SVG (vega's headless renderer), and to PNG through resvg at twice
 * the chart's size for sharp text; writes the file atomically. Vega is imported here, on first
 * use, so that commands which draw nothing do not pay for loading it.
 */
export async function writeChart(path: string, spec: TopLevelSpec): Promise<void> {
  checkChartPath(path, 'chart');
  const svg = await renderSvg(spec);
  if (extname(path).toLowerCase() === '.svg') return writeFileAtomic(path, svg);
  await writeFileAtomic(path, await svgToPng(svg));
}

/**
 * Specs here are built from parts, which Vega-Lite's TypeScript types cannot follow (hence the
 * casts where they are built); vega-lite's compile validates them when rendering.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}

/** Shared look: white background, readable font sizes. */
export const CHART_CONFIG = {
  background: 'white',
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridOpacity: 0.4 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14 },
  view: { stroke: '#ccc' },
} as const;
