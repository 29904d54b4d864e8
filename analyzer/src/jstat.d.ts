// jstat ships no types; only what the analyzer calls is declared.
declare module 'jstat' {
  export const jStat: {
    normal: {
      cdf(x: number, mean: number, sd: number): number;
      inv(p: number, mean: number, sd: number): number;
    };
  };
}
