// CommonJS handlers covering the Node.js programming models Lambda supports.
'use strict';

exports.asyncHandler = async (event) => ({ model: 'async', event });

exports.promiseHandler = (event) => Promise.resolve({ model: 'promise', event });

// A non-async handler that returns a value without a callback: Lambda ignores
// the value and completes with null once the event loop is empty.
exports.syncHandler = (event) => ({ model: 'sync', event });

exports.callbackHandler = (event, context, callback) => {
  setTimeout(() => callback(null, { model: 'callback', event }), 5);
};

// callback() waits for the event loop to empty by default, so the timer's
// change is part of the response: JSON happens at completion.
exports.callbackWaits = (event, context, callback) => {
  const result = { late: false };
  callback(null, result);
  setTimeout(() => { result.late = true; }, 20);
};

exports.callbackNoWait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  const result = { late: false };
  callback(null, result);
  setTimeout(() => { result.late = true; }, 20);
};

exports.contextSucceed = (event, context) => {
  context.succeed({ model: 'succeed' });
};

exports.contextFail = (event, context) => {
  context.fail(new Error('failed via context'));
};

exports.callbackError = (event, context, callback) => {
  callback(new TypeError('bad input'));
};

exports.callbackString = (event, context, callback) => {
  callback('plain string error');
};

exports.throwSync = () => {
  throw new Error('boom');
};

exports.rejectAsync = async () => {
  const err = new RangeError('out of range');
  throw err;
};

exports.customError = async () => {
  class ValidationError extends Error {
    constructor(msg) { super(msg); this.name = 'ValidationError'; }
  }
  throw new ValidationError('invalid thing');
};

exports.circular = async () => {
  const a = { name: 'a' };
  a.self = a;
  return a;
};

exports.undefinedResult = async () => undefined;

exports.neverSettles = async () => new Promise(() => {});

exports.uncaught = async () => {
  setTimeout(() => { throw new Error('late throw'); }, 1);
  return new Promise(() => {});
};

exports.unhandledRejection = async () => {
  Promise.reject(new Error('nobody caught me'));
  return new Promise(() => {});
};

exports.context = async (event, context) => ({
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  invokedFunctionArn: context.invokedFunctionArn,
  memoryLimitInMB: context.memoryLimitInMB,
  awsRequestId: context.awsRequestId,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  identity: context.identity,
  clientContext: context.clientContext,
  callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
  remainingPositive: context.getRemainingTimeInMillis() > 0,
  traceId: process.env._X_AMZN_TRACE_ID,
  hasSucceed: typeof context.succeed === 'function',
});

exports.logs = async () => {
  console.log('hello %s', 'world');
  console.info('multi\nline');
  console.warn('careful');
  console.error('bad', { a: 1 });
  console.debug('dbg');
  return 'logged';
};

exports.nested = { deeper: { handler: async () => 'nested ok' } };

exports.notAFunction = 42;

exports.counter = (() => {
  let n = 0;
  return async () => ++n;
})();

// Response streaming (awslambda.streamifyResponse).
exports.streaming = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write('part1,');
  await new Promise((r) => setTimeout(r, 5));
  responseStream.end('part2');
});

exports.streamingUnfinished = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write('never ended');
});

exports.streamingHTTP = awslambda.streamifyResponse(async (event, responseStream) => {
  const out = awslambda.HttpResponseStream.from(responseStream, { statusCode: 201, headers: { 'x-a': 'b' } });
  out.write('hello');
  out.end();
});
