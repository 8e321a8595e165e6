/** The package ships no types; we use one function of it (see db/embedded-postgres.ts). */
declare module 'async-exit-hook' {
  const exitHook: { unhookEvent(event: string): void };
  export default exitHook;
}
