import { sep } from 'node:path';
export const handler = async () => ({ module: 'esm-type-module', sep });
