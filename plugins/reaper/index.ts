/** The detached reaper: what a killed run leaves (servers, containers, databases, app processes) is removed. */
export { type Reapable, registerReapable } from './reaper.ts';
export { SERVER_DIR_PREFIX } from './state.ts';
