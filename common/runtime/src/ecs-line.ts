import { ecsFields } from '@elastic/ecs-winston-format';

/**
 * Turns a validated event into its ECS line, in the caller's thread.
 *
 * Of @elastic/ecs-winston-format we use `ecsFields` (the ECS header, errors,
 * APM ids) and serialize with JSON.stringify instead of its `ecsStringify`,
 * which runs safe-stable-stringify: its key sorting and cycle checks cost a
 * replica about 5% of its predictions per second under load (4 side-by-side
 * runs) and buy nothing here, because the line has just passed its zod
 * schema: plain JSON data, no cycles, no BigInt.
 */
export function ecsLineFormatter(): (info: Record<string, unknown>) => string {
  const ecs = ecsFields({ convertReqRes: false });
  return (info) => {
    ecs.transform(info as Parameters<typeof ecs.transform>[0], ecs.options);
    // `level` is winston's and the line has it as log.level: undefined drops it from the JSON without copying the object.
    info.level = undefined;
    return JSON.stringify(info);
  };
}
