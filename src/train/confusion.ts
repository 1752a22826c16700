/** confusion[label][prediction] = count. */
export function confusionMatrix(labels: ArrayLike<number>, predictions: ArrayLike<number>, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) m[labels[i]][predictions[i]]++;
  return m;
}

/** Recall per class: the diagonal over the row sums (NaN for a class with no images). */
export function perClassAccuracy(confusion: number[][]): number[] {
  return confusion.map((row, c) => row[c] / row.reduce((a, b) => a + b, 0));
}
