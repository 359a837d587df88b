// Handlers for AWS_LAMBDA_MAX_CONCURRENCY > 1 (Lambda Managed Instances).
let inFlight = 0;
let peak = 0;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// An async handler that stays in flight until event.expect invocations are in
// flight at once (or gives up after about ten seconds), logging on the way, and
// returns the most it saw at once.
exports.barrier = async (event) => {
  inFlight++;
  peak = Math.max(peak, inFlight);
  console.log(`start ${event.n}`);
  await sleep(200);
  for (let i = 0; i < 1000 && peak < event.expect; i++) await sleep(10);
  console.log(`end ${event.n}`);
  inFlight--;
  return { n: event.n, peak, pid: process.pid };
};

// A callback handler: in multi mode it runs one invocation at a time, so it
// never sees another in flight.
exports.callbackPeak = (event, context, callback) => {
  inFlight++;
  const seen = inFlight;
  setTimeout(() => {
    inFlight--;
    callback(null, { n: event.n, seen });
  }, 50);
};
