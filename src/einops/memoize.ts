/**
 * Caches `compute` by a string key. Past `capacity` entries the oldest is forgotten, so a stream of
 * new input shapes can't grow the cache without bound. Calls that throw are not cached.
 */
export function memoize<Args extends unknown[], Result>(
  capacity: number,
  keyOf: (...args: Args) => string,
  compute: (...args: Args) => Result,
): (...args: Args) => Result {
  const cache = new Map<string, Result>();
  return (...args) => {
    const key = keyOf(...args);
    let result = cache.get(key);
    if (result === undefined) {
      result = compute(...args);
      if (cache.size >= capacity) cache.delete(cache.keys().next().value!);
      cache.set(key, result);
    }
    return result;
  };
}
