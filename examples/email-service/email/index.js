// Seed scenario 1's email service: one function behind /email/{proxy+} that routes
// on the path internally.
exports.handler = async (event) => {
  const path = event.path || event.rawPath || "";
  let result;
  if (path.endsWith("/email/send")) {
    result = { sent: true };
  } else if (path.endsWith("/email/ping")) {
    result = { pong: true };
  } else {
    return { statusCode: 404, body: JSON.stringify({ error: "no route", path }) };
  }
  return {
    statusCode: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...result, path, resource: event.resource, proxy: event.pathParameters && event.pathParameters.proxy }),
  };
};
