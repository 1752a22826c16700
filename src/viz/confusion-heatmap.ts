import type { TopLevelSpec } from 'vega-lite';
import { CHART_CONFIG } from './render-chart.js';

/**
 * The confusion matrix as a heatmap: rows true classes, columns predictions, each cell coloured
 * by the share of its row (so classes of any size compare) and labelled with its count; each
 * row's label carries that class's accuracy (recall). Past 20 classes (CIFAR-100's 100) the cells
 * shrink and lose their counts, which would not fit: the colours tell the story.
 */
/** Classes a readable matrix of counts holds (CIFAR-100's 20 superclasses); more are drawn densely. */
export const DENSE_ABOVE = 20;

export function confusionSpec(confusion: number[][], classes: string[], perClass: number[], accuracy: number, title: string): TopLevelSpec {
  const rowLabel = (i: number) => `${classes[i]} (${(100 * perClass[i]).toFixed(1)}%)`;
  const cells = confusion.flatMap((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((count, j) => ({ actual: rowLabel(i), predicted: classes[j], count, share: total ? count / total : 0 }));
  });
  const dense = classes.length > DENSE_ABOVE;
  const side = Math.max(260, (dense ? 14 : 36) * classes.length);
  const y = { field: 'actual', type: 'nominal', sort: classes.map((_, i) => rowLabel(i)), title: 'true class (accuracy)' } as const;
  const x = { field: 'predicted', type: 'nominal', sort: classes, title: 'predicted class', axis: { labelAngle: -40, orient: 'top' } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: { ...CHART_CONFIG, axis: { ...CHART_CONFIG.axis, grid: false } },
    title: { text: title, subtitle: `accuracy ${(100 * accuracy).toFixed(2)}%`, subtitleFontSize: 12 },
    data: { values: cells },
    width: side,
    height: side,
    encoding: { x, y },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: { field: 'share', type: 'quantitative', title: 'share of row', scale: { scheme: 'blues', domain: [0, 1] }, legend: { format: '.0%' } },
        },
      },
      ...(dense ? [] : [{
        mark: { type: 'text', fontSize: 11 },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: 'black' },
        },
      }]),
    ],
  } as unknown as TopLevelSpec;
}
