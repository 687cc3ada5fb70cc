/**
 * Types of the one thing nslab takes from dockerode: its client class, described by the part of
 * the Engine API nslab calls ({@link DockerApi}). Local on purpose: dockerode ships no types,
 * and its @types package describes far more than nslab touches.
 *
 * @module
 */

import type { DockerApi } from "./docker.ts";

/** dockerode's `Docker` client class. */
declare const Docker: new (opts: { socketPath: string; timeout: number }) => DockerApi;
export default Docker;
