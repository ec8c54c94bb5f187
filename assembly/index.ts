// Entry of build/plugin.wasm: exports the proxy-wasm ABI and registers the
// ai-json-mode plugin. Only ABI functions are exported from here.
// (Keep this file free of the json-as transform: that transform drops the
// exports of a file at assembly/index.ts.)

export * from "./proxy/exports";
// Target of `--use abort=assembly/proxy/abort/onAbort` (see asconfig.json).
import "./proxy/abort";
import { register } from "./jsonmode/plugin";

register();
