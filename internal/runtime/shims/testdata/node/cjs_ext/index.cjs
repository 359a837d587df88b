exports.handler = async () => ({ module: 'cjs-ext' });
