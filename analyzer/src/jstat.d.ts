// jstat ships no types; only what the analyzer calls is declared.
declare module 'jstat' {
  // A CommonJS module: Node's ESM loader offers only its default export.
  const jstat: {
    jStat: {
      normal: {
        cdf(x: number, mean: number, sd: number): number;
        inv(p: number, mean: number, sd: number): number;
      };
      /** The regularized incomplete beta function I_x(a, b). */
      ibeta(x: number, a: number, b: number): number;
    };
  };
  export default jstat;
}
