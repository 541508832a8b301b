/** First free byte after the module's static data: the TypeScript arena starts here. */
export function heap_base(): usize {
  return __heap_base;
}
