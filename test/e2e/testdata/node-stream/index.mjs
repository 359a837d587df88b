// Streams "first", then waits until the file named by event.gate exists (the test
// creates it only after it has read "first"), then streams "second". A test thus
// proves bytes reach it before the function finishes, without timing anything.
import fs from 'node:fs';

const waitFor = async (file) => {
  for (let i = 0; i < 600 && !fs.existsSync(file); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
};

const gateOf = (event) => event.gate ?? event.queryStringParameters?.gate;

export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  let out = responseStream;
  if (event.requestContext) {
    // Through a function URL: an HTTP response with a status and headers.
    out = awslambda.HttpResponseStream.from(responseStream, { statusCode: 200, headers: { 'content-type': 'text/plain', 'x-streamed': 'yes' } });
  }
  out.write('first\n');
  await waitFor(gateOf(event));
  out.write('second\n');
  out.end();
});
