// Resolves through NODE_PATH (the task root), as on Lambda.
const { greet } = require('lib/greet');
exports.handler = async () => greet('node_path');
