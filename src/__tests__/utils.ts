/** Shared test helpers: a translator that fills %1, %2… */
export const trans = {
  __: (text: string, ...args: unknown[]) =>
    args.reduce<string>((out, arg, i) => out.replace(`%${i + 1}`, String(arg)), text)
} as any;
