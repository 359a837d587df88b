// Streams "first", then waits until the URL event.gate answers 200 (the test
// opens it only after it has read "first"), then streams "second" ("gave up" if
// the gate never opened). A test thus proves bytes reach it before the function
// finishes, without timing anything.
const waitFor = async (url) => {
  for (let i = 0; i < 1000; i++) {
    try {
      if ((await fetch(url)).status === 200) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
};

const gateOf = (event) => event.gate ?? event.queryStringParameters?.gate;

export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  let out = responseStream;
  if (event.requestContext) {
    // Through a function URL: an HTTP response with a status and headers.
    out = awslambda.HttpResponseStream.from(responseStream, { statusCode: 200, headers: { 'content-type': 'text/plain', 'x-streamed': 'yes' } });
  }
  out.write('first\n');
  out.write((await waitFor(gateOf(event))) ? 'second\n' : 'gave up\n');
  out.end();
});
