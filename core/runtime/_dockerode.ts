/**
 * dockerode, the Docker Engine API client, behind local types (see `_dockerode.d.ts`). Imported
 * only when a lab has Docker containers.
 *
 * @module
 */

// @ts-types="./_dockerode.d.ts"
import Docker from "dockerode";

export default Docker;
