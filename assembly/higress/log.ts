// Plugin logging, Higress style: every line starts with `[plugin-name]`.

import { LogLevelValues, log, getLogLevel } from "../proxy";

export class Log {
  constructor(public pluginName: string) {}

  /** True when the host would print a line of this level (skip building costly messages otherwise). */
  enabled(level: LogLevelValues): bool {
    return <i32>level >= <i32>getLogLevel();
  }

  write(level: LogLevelValues, message: string): void {
    log(level, "[" + this.pluginName + "] " + message);
  }

  trace(message: string): void {
    this.write(LogLevelValues.trace, message);
  }
  debug(message: string): void {
    this.write(LogLevelValues.debug, message);
  }
  info(message: string): void {
    this.write(LogLevelValues.info, message);
  }
  warn(message: string): void {
    this.write(LogLevelValues.warn, message);
  }
  error(message: string): void {
    this.write(LogLevelValues.error, message);
  }
  critical(message: string): void {
    this.write(LogLevelValues.critical, message);
  }
}
