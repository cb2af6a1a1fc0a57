/** The part of cli-progress (which ships no types) that the CLI uses. */
declare module 'cli-progress' {
  interface BarOptions {
    format?: string;
    stream?: NodeJS.WritableStream;
    hideCursor?: boolean;
    clearOnComplete?: boolean;
    barCompleteChar?: string;
    barIncompleteChar?: string;
  }
  export class SingleBar {
    constructor(options: BarOptions, preset?: object);
    start(total: number, startValue: number, payload?: Record<string, unknown>): void;
    update(value: number, payload?: Record<string, unknown>): void;
    setTotal(total: number): void;
    stop(): void;
  }
  export const Presets: { readonly shades_classic: object };
}
