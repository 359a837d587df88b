exports.handler = async () => ({ module: 'nested', dir: __dirname.split('/').slice(-2).join('/') });
