/**
 * Sets `key` as an own, enumerable data property of `target`. A plain `target[key] = value` with
 * the key `__proto__` (a JSON line may carry one: `{"__proto__":[]}`) would replace the object's
 * prototype instead of storing the value, so the record would lose the field and stop being a
 * plain object (found by test/parsers/fuzz.test.ts).
 */
export function setOwnProperty(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
