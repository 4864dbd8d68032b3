/**
 * `T` as `exactOptionalPropertyTypes` wants it: each key whose value may be
 * `undefined` becomes optional, without `undefined` in its type.
 */
export type OmitUndefined<T> = Flatten<
  { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & { [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined> }
>;

type Flatten<T> = { [K in keyof T]: T[K] };

/**
 * A shallow copy of `value` without its `undefined` keys, in the same key order.
 * The one way to build an option bag or record from values that may be absent:
 * an absent key and a key set to `undefined` are not the same thing to a strict
 * schema or to `exactOptionalPropertyTypes`, so an optional value is left out,
 * never written as `undefined`. `null`, `false`, `0` and `''` are kept.
 */
export function omitUndefined<T extends object>(value: T): OmitUndefined<T> {
  const kept: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) if (entry !== undefined) kept[key] = entry;
  return kept as OmitUndefined<T>;
}
