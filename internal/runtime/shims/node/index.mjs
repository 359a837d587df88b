// Sluice runtime client for the nodejs*.x runtimes.
//
// Sluice starts one long-lived `node index.mjs` per function instance with
// AWS_LAMBDA_RUNTIME_API, _HANDLER and LAMBDA_TASK_ROOT set, exactly as Lambda
// starts its managed Node.js runtime. This file plays the part of AWS's
// runtime interface client (aws-lambda-nodejs-runtime-interface-client, "the
// RIC"): it loads the handler named by _HANDLER the way the RIC does, then
// loops GET /invocation/next -> handler -> POST /response or /error against
// the Lambda Runtime API. The behaviours below (handler resolution, callback
// and beforeExit semantics, error shapes, log line format) follow the RIC's
// UserFunction.js, Runtime.js, CallbackContext.js, Errors.js and LogPatch.js;
// each section names the file it mirrors. It uses no npm packages.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { Writable } from 'node:stream';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------
// Errors (RIC Errors.js). Runtime errors carry names "Runtime.<Class>", which
// become the errorType Lambda reports.

function runtimeError(name, fixedMessage) {
  const cls = class extends Error {
    constructor(message) {
      super(fixedMessage ?? message);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  cls.prototype.name = `Runtime.${name}`;
  return cls;
}

const ImportModuleError = runtimeError('ImportModuleError');
const HandlerNotFound = runtimeError('HandlerNotFound');
const MalformedHandlerName = runtimeError('MalformedHandlerName');
const UserCodeSyntaxError = runtimeError('UserCodeSyntaxError');
const MalformedStreamingHandler = runtimeError('MalformedStreamingHandler');
const NodeJsExit = runtimeError(
  'NodeJsExit',
  'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes',
);
class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}
UnhandledPromiseRejection.prototype.name = 'Runtime.UnhandledPromiseRejection';

function looksLikeError(obj) {
  return (
    obj &&
    typeof obj.name === 'string' &&
    typeof obj.message === 'string' &&
    typeof obj.stack === 'string' &&
    obj.name &&
    obj.message &&
    obj.stack
  );
}

// toRapidResponse turns anything a handler rejects with into the body Lambda
// returns for a function error: {"errorType","errorMessage","trace"}.
function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || looksLikeError(error)) {
      return {
        errorType: error.name?.replaceAll('\x7F', '%7F'),
        errorMessage: error.message?.replaceAll('\x7F', '%7F'),
        trace: error.stack.replaceAll('\x7F', '%7F').split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: error.toString(), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}

// formatErrorForLog renders an error the way the RIC logs "Invoke Error" and
// "Uncaught Exception" lines: a tab, then JSON including enumerable fields.
function formatErrorForLog(error) {
  const withProps = (_k, v) => {
    if (v instanceof Error) {
      const out = Object.assign({ errorType: v.name, errorMessage: v.message, code: v.code }, v);
      if (typeof v.stack === 'string') out.stack = v.stack.split('\n');
      return out;
    }
    return v;
  };
  try {
    return '\t' + JSON.stringify(error, withProps);
  } catch {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

// ---------------------------------------------------------------------------
// Logging (RIC LogPatch.js). console.* writes one line per call to stdout:
// "<ISO time>\t<request id>\t<LEVEL>\t<message>" with newlines turned into \r so a
// multi-line message stays one log event, or a JSON object when
// AWS_LAMBDA_LOG_FORMAT=JSON. AWS_LAMBDA_LOG_LEVEL filters levels.

let currentRequestId; // undefined until the first invocation, printed as "undefined" like AWS

// On Lambda Managed Instances the pool sets AWS_LAMBDA_MAX_CONCURRENCY=N and
// serves up to N invocations to this process at once (ConcurrentRuntime below).
// Each invocation's request id then lives in an AsyncLocalStorage, so a log line
// carries the id of the invocation whose code wrote it; outside any invocation
// it is "undefined", as before the first invocation.
const maxConcurrency = (() => {
  const n = Number.parseInt(process.env.AWS_LAMBDA_MAX_CONCURRENCY ?? '', 10);
  return Number.isInteger(n) && n > 1 ? n : 1;
})();
const invocationStore = maxConcurrency > 1 ? new AsyncLocalStorage() : null;

function logRequestId() {
  return invocationStore ? invocationStore.getStore() : currentRequestId;
}
const LEVELS = {
  TRACE: { name: 'TRACE', priority: 1 },
  DEBUG: { name: 'DEBUG', priority: 2 },
  INFO: { name: 'INFO', priority: 3 },
  WARN: { name: 'WARN', priority: 4 },
  ERROR: { name: 'ERROR', priority: 5 },
  FATAL: { name: 'FATAL', priority: 6 },
};
const jsonLogFormat = process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === 'JSON';

function jsonErrorReplacer(_k, value) {
  if (value instanceof Error) {
    return Object.assign(
      {
        errorType: value?.constructor?.name ?? 'UnknownError',
        errorMessage: value.message,
        stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
      },
      value,
    );
  }
  return value;
}

function formatJsonLine(time, level, params) {
  const result = { timestamp: time, level: level.name, requestId: logRequestId() };
  if (params.length === 1) {
    result.message = params[0];
    try {
      return JSON.stringify(result, jsonErrorReplacer);
    } catch {
      result.message = util.format(result.message);
      return JSON.stringify(result);
    }
  }
  result.message = util.format(...params);
  for (const p of params) {
    if (p instanceof Error) {
      result.errorType = p?.constructor?.name ?? 'UnknownError';
      result.errorMessage = p.message;
      result.stackTrace = typeof p.stack === 'string' ? p.stack.split('\n') : [];
      break;
    }
  }
  return JSON.stringify(result);
}

function writeLog(level, params) {
  const time = new Date().toISOString();
  let line = jsonLogFormat
    ? formatJsonLine(time, level, params)
    : `${time}\t${logRequestId()}\t${level.name}\t${util.format(...params)}`;
  line = line.replace(/\n/g, '\r');
  process.stdout.write(line + '\n');
}

function patchConsole() {
  const threshold = LEVELS[process.env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase()] ?? LEVELS.TRACE;
  const nop = () => {};
  const make = (level) => (level.priority >= threshold.priority ? (...p) => writeLog(level, p) : nop);
  console.trace = make(LEVELS.TRACE);
  console.debug = make(LEVELS.DEBUG);
  console.info = make(LEVELS.INFO);
  console.log = console.info;
  console.warn = make(LEVELS.WARN);
  console.error = make(LEVELS.ERROR);
  console.fatal = (...p) => writeLog(LEVELS.FATAL, p);
}

function logError(label, err) {
  if (jsonLogFormat) {
    console.error(intoError(err));
  } else {
    console.error(label, formatErrorForLog(intoError(err)));
  }
}

// ---------------------------------------------------------------------------
// Runtime API client. One keep-alive connection (maxSockets 1), like the RIC.
// Idle keep-alive sockets are unref'd by node's Agent, so they do not keep the
// event loop alive; that is what lets 'beforeExit' signal an empty loop.

const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';
const API_PREFIX = '/2018-06-01/runtime';

class RuntimeAPI {
  // maxSockets is the number of Runtime API calls in flight at once: one, or one
  // per concurrent poll loop on Lambda Managed Instances.
  constructor(address, maxSockets = 1) {
    if (!address) throw new Error('AWS_LAMBDA_RUNTIME_API is not set');
    const i = address.lastIndexOf(':');
    this.host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
    this.port = parseInt(address.slice(i + 1), 10);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  call(method, urlPath, body, headers, retried = false) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: this.host, port: this.port, method, path: urlPath, agent: this.agent, headers: headers || {} },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', (err) => {
        // A keep-alive socket the server closed while idle fails on reuse; node
        // documents retrying exactly this case once.
        if (!retried && req.reusedSocket && err.code === 'ECONNRESET') {
          this.call(method, urlPath, body, headers, true).then(resolve, reject);
          return;
        }
        reject(err);
      });
      req.end(body);
    });
  }

  async next() {
    const res = await this.call('GET', `${API_PREFIX}/invocation/next`);
    if (res.status !== 200) {
      throw new Error(`Runtime API GET /invocation/next returned ${res.status}: ${res.body}`);
    }
    return res;
  }

  // post never rejects: if the Runtime API cannot be reached the instance has
  // been stopped, and there is nobody left to report to, so the process exits.
  async post(urlPath, bodyString, extraHeaders) {
    const body = Buffer.from(bodyString, 'utf8');
    let res;
    try {
      res = await this.call('POST', urlPath, body, {
        'Content-Type': 'application/json',
        'Content-Length': body.length,
        ...extraHeaders,
      });
    } catch (err) {
      process.stderr.write(`sluice runtime: POST ${urlPath}: ${err?.message ?? err}\n`);
      process.exit(1);
    }
    if (res.status !== 202) {
      // The invocation may have timed out or been cancelled; the Runtime API
      // then answers 4xx and the loop simply moves on, as the RIC does.
      process.stderr.write(`sluice runtime: POST ${urlPath} returned ${res.status}: ${res.body}\n`);
    }
  }

  postResponse(id, bodyString) {
    return this.post(`${API_PREFIX}/invocation/${encodeURIComponent(id)}/response`, bodyString);
  }

  postError(id, error) {
    const resp = toRapidResponse(error);
    // The Runtime API documents Lambda-Runtime-Function-Error-Type as the
    // error's type; the RIC sends it on init errors, and we send it on
    // invocation errors too so the server need not parse the body.
    return this.post(`${API_PREFIX}/invocation/${encodeURIComponent(id)}/error`, JSON.stringify(resp), {
      [ERROR_TYPE_HEADER]: headerSafe(resp.errorType),
    });
  }

  postInitError(error) {
    const resp = toRapidResponse(error);
    return this.post(`${API_PREFIX}/init/error`, JSON.stringify(resp), {
      [ERROR_TYPE_HEADER]: headerSafe(resp.errorType),
    });
  }
}

function headerSafe(s) {
  return String(s ?? '').replace(/[^\x20-\x7E]/g, '');
}

// ---------------------------------------------------------------------------
// Handler loading (RIC UserFunction.js).
//
// _HANDLER is "[dir/]module.export[.nested]": the part after the last "/" is
// split at its first "."; the module is tried, relative to LAMBDA_TASK_ROOT,
// as an extensionless file (require), ".js" via require unless the nearest
// package.json says "type":"module", then ".js" via import (type module),
// ".mjs" via import, ".cjs" via require, and finally node's own resolution
// from the task root (node_modules packages).

const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const STREAM_RESPONSE = 'response';

function splitModuleRoot(fullHandler) {
  const handlerString = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(handlerString));
  return [moduleRoot, handlerString];
}

function splitHandlerString(handler) {
  const match = handler.match(FUNCTION_EXPR);
  if (!match || match.length !== 3) {
    throw new MalformedHandlerName('Bad handler');
  }
  return [match[1], match[2]];
}

function resolveNested(object, nestedProperty) {
  return nestedProperty.split('.').reduce((nested, key) => nested && nested[key], object);
}

function tryRequireFile(file, ext = '') {
  const p = file + ext;
  return fs.existsSync(p) ? require(p) : undefined;
}

async function tryImportFile(file, ext = '') {
  const p = file + ext;
  return fs.existsSync(p) ? await import(pathToFileURL(p).href) : undefined;
}

function folderHasTypeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const pj = path.join(folder, 'package.json');
  if (fs.existsSync(pj)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(pj));
      if (pkg) return pkg.type === 'module';
    } catch (e) {
      console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  if (folder === '/') return false;
  return folderHasTypeModule(path.resolve(folder, '..'));
}

function hasPackageJsonTypeModule(file) {
  const jsPath = file + '.js';
  return fs.existsSync(jsPath) ? folderHasTypeModule(path.resolve(path.dirname(jsPath))) : false;
}

async function tryLoad(appRoot, moduleRoot, moduleName) {
  const lambdaStylePath = path.resolve(appRoot, moduleRoot, moduleName);

  const extensionless = tryRequireFile(lambdaStylePath);
  if (extensionless) return extensionless;

  const typeModule = hasPackageJsonTypeModule(lambdaStylePath);
  if (!typeModule) {
    const loaded = tryRequireFile(lambdaStylePath, '.js');
    if (loaded) return loaded;
  }

  const loaded =
    (typeModule && (await tryImportFile(lambdaStylePath, '.js'))) ||
    (await tryImportFile(lambdaStylePath, '.mjs')) ||
    tryRequireFile(lambdaStylePath, '.cjs');
  if (loaded) return loaded;

  // require() resolves relative to this file, not the task root, so resolve
  // explicitly from the task root (node_modules packages named as modules).
  const nodeStylePath = require.resolve(moduleName, { paths: [appRoot, moduleRoot] });
  return require(nodeStylePath);
}

// HttpResponseStream.from (RIC HttpResponseStream.js) turns a response stream
// into a function URL's HTTP response: the metadata prelude
// ({"statusCode":..,"headers":..,"cookies":..}) and eight NUL bytes go out
// before the body, under the http-integration-response content type.
class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType('application/vnd.awslambda.http-integration-response');
    const metadata = JSON.stringify(prelude ?? {});
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadata);
      write(new Uint8Array(8));
    };
    return underlyingStream;
  }
}

function installGlobalAwsLambda() {
  const off = process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (off === '1' || off === 'true') return;
  globalThis.awslambda = {
    streamifyResponse: (handler) => {
      handler[HANDLER_STREAMING] = STREAM_RESPONSE;
      return handler;
    },
    HttpResponseStream,
  };
}

async function loadUserModule(appRoot, moduleRoot, moduleName) {
  installGlobalAwsLambda();
  try {
    return await tryLoad(appRoot, moduleRoot, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e && e.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(e);
    throw e;
  }
}

async function loadHandler(appRoot, fullHandler) {
  if (fullHandler.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const [moduleRoot, moduleAndHandler] = splitModuleRoot(fullHandler);
  const [moduleName, handlerPath] = splitHandlerString(moduleAndHandler);
  const userModule = await loadUserModule(appRoot, moduleRoot, moduleName);
  const handler = resolveNested(userModule, handlerPath);
  if (!handler) throw new HandlerNotFound(`${fullHandler} is undefined or not exported`);
  if (typeof handler !== 'function') throw new HandlerNotFound(`${fullHandler} is not a function`);
  if (handler[HANDLER_STREAMING] !== undefined && handler[HANDLER_STREAMING] !== null &&
      handler[HANDLER_STREAMING] !== false && handler[HANDLER_STREAMING] !== STREAM_RESPONSE) {
    throw new MalformedStreamingHandler('Only response streaming is supported.');
  }
  return handler;
}

function isAsyncFunction(fn) {
  try {
    return fn?.constructor?.name === 'AsyncFunction';
  } catch {
    return false;
  }
}

function isPromise(obj) {
  return obj && typeof obj.then === 'function';
}

// ---------------------------------------------------------------------------
// The invoke loop (RIC Runtime.js, CallbackContext.js, BeforeExitListener.js).
//
// Completion rules, as on Lambda:
//   - a returned promise settles the invocation (resolve -> response, reject -> error);
//   - callback(err) posts the error at once; callback(null, v) posts v once the
//     event loop is empty, or at once if context.callbackWaitsForEmptyEventLoop
//     is false;
//   - context.succeed/fail/done post at once;
//   - a non-async handler that never calls back completes with null when the
//     event loop empties; an async one whose promise never settles fails with
//     Runtime.NodeJsExit.
// Only the first completion counts.

const NO_OP = () => {};
let beforeExitListener = NO_OP;
process.on('beforeExit', () => beforeExitListener());

class Runtime {
  constructor(client, handler) {
    this.client = client;
    this.handler = handler;
    this.handlerIsAsync = isAsyncFunction(handler);
    this.streaming = handler[HANDLER_STREAMING] === STREAM_RESPONSE;
    // Replaced per invocation so uncaught errors are reported against it.
    this.onFatal = (error, code) => {
      this.client.postInitError(error).finally(() => process.exit(code));
    };
  }

  scheduleIteration() {
    setImmediate(() => {
      this.handleOnce().catch((err) => {
        // Only a broken Runtime API gets here (the server went away or
        // refused us). There is nothing left to report to; exit.
        process.stderr.write(`sluice runtime: ${err?.stack ?? err}\n`);
        process.exit(1);
      });
    });
  }

  async handleOnce() {
    const { body, headers } = await this.client.next();
    const id = headers['lambda-runtime-aws-request-id'];
    if (!id) throw new Error('invocation id is missing from /invocation/next');
    currentRequestId = id;
    if (headers['lambda-runtime-trace-id']) {
      process.env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
    } else {
      delete process.env._X_AMZN_TRACE_ID;
    }

    this.onFatal = (error, code) => {
      this.client.postError(id, error).finally(() => process.exit(code));
    };

    const [callback, context, markCompleted] = this.buildCallbackContext(id);
    beforeExitListener = () => {
      markCompleted();
      if (this.handlerIsAsync) {
        const err = new NodeJsExit();
        logError('Invoke Error', err);
        this.client.postError(id, err).finally(() => this.scheduleIteration());
      } else {
        this.client.postResponse(id, 'null').finally(() => this.scheduleIteration());
      }
    };

    try {
      attachInvokeData(context, headers);
      const event = JSON.parse(body);
      if (this.streaming) {
        this.invokeStreaming(event, context);
        return;
      }
      const result = this.handler(event, context, callback);
      if (isPromise(result)) {
        result.then(context.succeed, context.fail).catch(context.fail);
      }
    } catch (err) {
      callback(err);
    }
  }

  // Response streaming handlers (awslambda.streamifyResponse) get a Writable
  // whose bytes go to the Runtime API as they are written (RIC
  // ResponseStream.js): one chunked POST /response with
  // Lambda-Runtime-Function-Response-Mode: streaming, opened at the first write
  // so setContentType (and HttpResponseStream.from) can still set its
  // Content-Type, and an error after the first byte sent in the
  // Lambda-Runtime-Function-Error-Type/-Body trailers.
  invokeStreaming(event, context) {
    const id = context.awsRequestId;
    const client = this.client;
    let req = null;
    let responded = null;
    let contentType = 'application/octet-stream';
    const open = () => {
      if (req) return req;
      responded = new Promise((resolve) => {
        req = http.request(
          {
            host: client.host, port: client.port, method: 'POST', agent: client.agent,
            path: `${API_PREFIX}/invocation/${encodeURIComponent(id)}/response`,
            headers: {
              'Content-Type': contentType,
              'Lambda-Runtime-Function-Response-Mode': 'streaming',
              'Transfer-Encoding': 'chunked',
              Trailer: [ERROR_TYPE_HEADER, 'Lambda-Runtime-Function-Error-Body'].join(','),
            },
          },
          (res) => {
            res.resume();
            res.on('end', resolve);
            res.on('error', resolve);
          },
        );
        req.on('error', (err) => {
          process.stderr.write(`sluice runtime: streamed response: ${err?.message ?? err}\n`);
          resolve();
        });
      });
      req.flushHeaders();
      return req;
    };
    const stream = new Writable({
      write(chunk, _enc, cb) {
        if (stream._onBeforeFirstWrite) {
          const before = stream._onBeforeFirstWrite;
          stream._onBeforeFirstWrite = null;
          before((b) => open().write(b));
        }
        open().write(chunk, cb);
      },
      final(cb) {
        if (stream._onBeforeFirstWrite) {
          const before = stream._onBeforeFirstWrite;
          stream._onBeforeFirstWrite = null;
          before((b) => open().write(b));
        }
        cb();
      },
    });
    stream.setContentType = (ct) => {
      if (req) throw new Error('Content-Type cannot be set after the first write.');
      contentType = ct;
    };
    const complete = (err) => {
      beforeExitListener = NO_OP;
      if (err) logError('Invoke Error', err);
      if (!req) {
        if (err) {
          client.postError(id, err).finally(() => this.scheduleIteration());
          return;
        }
        open();
      }
      if (err) {
        const body = Buffer.from(JSON.stringify(toRapidResponse(err))).toString('base64');
        req.addTrailers({ [ERROR_TYPE_HEADER]: headerSafe(toRapidResponse(err).errorType), 'Lambda-Runtime-Function-Error-Body': body });
      }
      req.end();
      responded.finally(() => this.scheduleIteration());
    };
    let result;
    try {
      result = this.handler(event, stream, context);
    } catch (err) {
      complete(err);
      return;
    }
    if (!isPromise(result)) {
      complete(new Error('Streaming does not support non-async handlers.'));
      return;
    }
    result.then(
      // RIC: a handler that resolves before ending its stream fails the
      // invocation with "Response stream is not finished."
      () => {
        if (!stream.writableEnded) complete(new Error('Response stream is not finished.'));
        else if (stream.writableFinished) complete(null);
        else stream.once('finish', () => complete(null));
      },
      complete,
    );
  }

  buildCallbackContext(id) {
    const client = this.client;
    const scheduleNext = () => this.scheduleIteration();
    let completed = false;
    let waitForEmptyEventLoop = true;
    let finished = false;

    const postError = (err) => {
      logError('Invoke Error', err);
      client.postError(id, err).finally(scheduleNext);
    };
    const complete = (result) => {
      if (completed) {
        console.error('Invocation has already been reported as done. Cannot call complete more than once per invocation.');
        return;
      }
      completed = true;
      let bodyString;
      try {
        bodyString = JSON.stringify(result === undefined ? null : result);
      } catch {
        // RIC: _trySerializeResponse throws this, and the invocation fails with it.
        postError(new Error('Unable to stringify response body'));
        return;
      }
      client.postResponse(id, bodyString).finally(scheduleNext);
    };
    const callback = (err, result) => {
      beforeExitListener = NO_OP;
      if (err !== undefined && err !== null) {
        postError(err);
      } else if (!waitForEmptyEventLoop || this.concurrent) {
        // With concurrent invocations the event loop is never empty (other
        // polls are pending), so the result is posted at once.
        complete(result);
      } else {
        beforeExitListener = () => setImmediate(() => complete(result));
      }
    };
    const done = (err, result) => {
      beforeExitListener = NO_OP;
      if (err !== undefined && err !== null) {
        postError(err);
      } else {
        complete(result);
      }
    };
    const firstOnly = (fn) => (...args) => {
      if (finished) return;
      finished = true;
      fn(...args);
    };
    const context = {
      get callbackWaitsForEmptyEventLoop() {
        return waitForEmptyEventLoop;
      },
      set callbackWaitsForEmptyEventLoop(value) {
        waitForEmptyEventLoop = value;
      },
      succeed: firstOnly((result) => done(null, result)),
      fail: firstOnly((err) => (err === undefined || err === null ? done('handled') : done(err, null))),
      done: firstOnly(done),
    };
    return [firstOnly(callback), context, () => { completed = true; }];
  }
}

function parseJsonHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

// attachInvokeData fills the context from the environment and the
// /invocation/next headers (RIC InvokeContext.js). memoryLimitInMB is a
// string, as on Lambda.
function attachInvokeData(context, headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  Object.assign(context, {
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parseJsonHeader(headers['lambda-runtime-client-context'], 'ClientContext'),
    identity: parseJsonHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    getRemainingTimeInMillis: () => deadline - Date.now(),
  });
}

// ---------------------------------------------------------------------------
// Concurrent invocations (Lambda Managed Instances,
// https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html):
// "asynchronous execution provides concurrency within each thread. Each
// concurrent request handled by the same worker thread shares the same handler
// object and global state", and "If your function handler is synchronous, each
// worker thread can only process one request at a time". So with
// AWS_LAMBDA_MAX_CONCURRENCY=N, N poll loops run in this process (one worker:
// AWS_LAMBDA_NODEJS_WORKER_COUNT is not read), each GET /next -> handler -> POST.
// An async handler (or a streaming one) runs up to N invocations at once; any
// other handler runs one invocation at a time. Differences from the classic loop,
// since the event loop is never empty while other polls wait:
//   - callback(null, v) posts v at once, whatever callbackWaitsForEmptyEventLoop;
//   - a non-async handler with fewer than three parameters that returns no
//     promise completes with null as soon as it returns;
//   - a promise that never settles is not detected (Runtime.NodeJsExit): the
//     invocation times out;
//   - an uncaught exception or unhandled rejection fails every invocation in
//     flight with it, then the process exits, as the classic loop does for one;
//   - _X_AMZN_TRACE_ID is process-wide: it holds the latest invocation's trace id.

class ConcurrentRuntime extends Runtime {
  constructor(client, handler, n) {
    super(client, handler);
    this.concurrent = true;
    this.n = n;
    this.inFlight = new Set();
    this.started = false;
    // Non-async handlers run one at a time: each waits for the previous one.
    this.serial = this.handlerIsAsync || this.streaming ? null : Promise.resolve();
    this.onFatal = (error, code) => {
      const posts = this.started
        ? [...this.inFlight].map((id) => this.client.postError(id, error))
        : [this.client.postInitError(error)];
      Promise.allSettled(posts).finally(() => process.exit(code));
    };
  }

  start() {
    for (let i = 0; i < this.n; i++) {
      this.pollLoop().catch((err) => {
        process.stderr.write(`sluice runtime: ${err?.stack ?? err}\n`);
        process.exit(1);
      });
    }
  }

  async pollLoop() {
    for (;;) {
      const { body, headers } = await this.client.next();
      const id = headers['lambda-runtime-aws-request-id'];
      if (!id) throw new Error('invocation id is missing from /invocation/next');
      this.started = true;
      this.inFlight.add(id);
      try {
        await invocationStore.run(id, () => this.invokeSerialized(id, body, headers));
      } finally {
        this.inFlight.delete(id);
      }
    }
  }

  async invokeSerialized(id, body, headers) {
    if (!this.serial) return this.invoke(id, body, headers);
    const previous = this.serial;
    let release;
    this.serial = new Promise((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      await this.invoke(id, body, headers);
    } finally {
      release();
    }
  }

  // invoke runs one invocation and resolves once its response or error is posted.
  // It reuses the classic completion code on a per-invocation object whose
  // scheduleIteration (called after the post) resolves instead of polling again.
  invoke(id, body, headers) {
    return new Promise((resolve) => {
      const inv = Object.create(this);
      inv.scheduleIteration = resolve;
      if (headers['lambda-runtime-trace-id']) {
        process.env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
      } else {
        delete process.env._X_AMZN_TRACE_ID;
      }
      const [callback, context] = inv.buildCallbackContext(id);
      try {
        attachInvokeData(context, headers);
        const event = JSON.parse(body);
        if (this.streaming) {
          inv.invokeStreaming(event, context);
          return;
        }
        const result = this.handler(event, context, callback);
        if (isPromise(result)) {
          result.then(context.succeed, context.fail).catch(context.fail);
        } else if (this.handler.length < 3) {
          context.succeed(null);
        }
      } catch (err) {
        callback(err);
      }
    });
  }
}

// ---------------------------------------------------------------------------
// Start-up (RIC index.mjs).

async function main() {
  patchConsole();
  const client = new RuntimeAPI(process.env.AWS_LAMBDA_RUNTIME_API, maxConcurrency);
  const runtime = { onFatal: (error, code) => client.postInitError(error).finally(() => process.exit(code)) };
  let active = runtime;

  process.on('uncaughtException', (error) => {
    logError('Uncaught Exception', error);
    active.onFatal(error, 129);
  });
  process.on('unhandledRejection', (reason, promise) => {
    const error = new UnhandledPromiseRejection(reason, promise);
    logError('Unhandled Promise Rejection', error);
    active.onFatal(error, 128);
  });

  const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const handlerName = process.env._HANDLER || '';
  // Lambda's nodejs bootstrap sets a default NODE_PATH ending in the task root
  // (so require('lib/x') finds <task root>/lib/x) unless the function sets its
  // own. Apply the same default if whoever started us did not.
  if (!process.env.NODE_PATH) {
    process.env.NODE_PATH = appRoot;
    require('node:module').Module._initPaths();
  }
  let handler;
  try {
    handler = await loadHandler(appRoot, handlerName);
  } catch (error) {
    // The RIC lets this escape as an uncaught exception: it is logged as
    // "Uncaught Exception", posted to /init/error, and the process exits 129.
    logError('Uncaught Exception', error);
    await client.postInitError(error).catch(() => {});
    process.exit(129);
  }
  if (maxConcurrency > 1) {
    const rt = new ConcurrentRuntime(client, handler, maxConcurrency);
    active = rt;
    rt.start();
    return;
  }
  const rt = new Runtime(client, handler);
  active = rt;
  rt.scheduleIteration();
}

main();
