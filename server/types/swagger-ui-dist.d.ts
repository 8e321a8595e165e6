/** The package ships no types; we use one function of it. */
declare module 'swagger-ui-dist' {
  const dist: { getAbsoluteFSPath(): string };
  export default dist;
}
