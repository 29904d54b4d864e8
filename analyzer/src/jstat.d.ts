// jstat ships no types; only what the analyzer calls is declared.
declare module 'jstat' {
  // A CommonJS module: Node's ESM loader offers only its default export.
  const jstat: {
    jStat: {
      normal: {
        cdf(x: number, mean: number, sd: number): number;
        inv(p: number, mean: number, sd: number): number;
      };
    };
  };
  export default jstat;
}
