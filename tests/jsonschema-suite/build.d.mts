// Types of build.mjs, for the TypeScript that imports it.

/** The repository root. */
export const root: string;

/** Compiles entry.ts (the validator plus a string-passing shim) and returns the Wasm bytes. */
export function buildEntry(): Buffer;

export interface Validator {
  /** The module's imports (module and name). */
  imports: WebAssembly.ModuleImportDescriptor[];
  /** status 1: compiled; 0: rejected (message: why); -1: not JSON. */
  compile(schemaText: string): { status: number; message: string };
  /** status 1: valid; 0: invalid (message: the errors); -1: not JSON; -2: no schema. */
  validate(instanceText: string, maxErrors?: number): { status: number; message: string };
}

/** Instantiates the entry (built now unless `bytes` are given). */
export function loadValidator(bytes?: Uint8Array): Promise<Validator>;
