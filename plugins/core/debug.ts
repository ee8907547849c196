import createDebug from 'debug';

/** Debug output under `shipgate:<namespace>`; enable with `DEBUG=shipgate:*`. */
export function debug(namespace: string): createDebug.Debugger {
  return createDebug(`shipgate:${namespace}`);
}
