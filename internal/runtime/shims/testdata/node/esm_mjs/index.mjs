export const handler = async (event) => ({ module: 'esm-mjs', event });
