// Target of `--use abort=...`: an AssemblyScript abort (failed assertion,
// out-of-range access on a checked array, ...) is logged at critical level
// through proxy_log, then the VM traps. Higress offers no env.abort import.
// The line names no plugin: the host already prefixes a module's log lines
// with the plugin's name (Envoy: `wasm log <plugin> <root id> <vm id>: ...`).

import { proxy_log } from "./imports";

export function onAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let text = "abort: " + (message !== null ? message : "(no message)");
  if (fileName !== null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  const b = String.UTF8.encode(text);
  proxy_log(5, changetype<usize>(b), b.byteLength);
  unreachable();
}
