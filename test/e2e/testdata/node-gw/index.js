// The gateway-behavior fixture: one Node function whose answer is chosen by the last
// segment of the request path (event.path for payload 1.0, event.rawPath for 2.0),
// so the end-to-end tests can make it misbehave in every way API Gateway handles.
//   nostatus  - an object without statusCode
//   string    - a plain JSON string
//   badstatus - a statusCode that is not a number
//   throw     - a handler error
//   slow      - sleeps 3 s, then answers 200
//   binary    - a PNG, base64 with isBase64Encoded
//   multi     - multiValueHeaders and headers
//   cookies   - payload 2.0 cookies
//   trace     - 200 with the function's _X_AMZN_TRACE_ID as the body
//   anything else - 200 with the event as the JSON body and the function's name
//                   in x-function
const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
  "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082", "hex");

exports.handler = async (event) => {
  const path = event.rawPath || event.path || "";
  const last = path.split("/").pop();
  switch (last) {
    case "nostatus":
      return { hello: "world" };
    case "string":
      return "hello";
    case "badstatus":
      return { statusCode: "abc", body: "x" };
    case "throw":
      throw new Error("boom");
    case "slow":
      await new Promise((r) => setTimeout(r, 3000));
      return { statusCode: 200, body: "slow" };
    case "binary":
      return { statusCode: 200, headers: { "Content-Type": "image/png" }, body: PNG.toString("base64"), isBase64Encoded: true };
    case "multi":
      return {
        statusCode: 201,
        headers: { "X-Single": "one", "Content-Type": "text/plain" },
        multiValueHeaders: { "X-Multi": ["a", "b"] },
        body: "multi",
      };
    case "trace":
      return { statusCode: 200, headers: { "content-type": "text/plain" }, body: process.env._X_AMZN_TRACE_ID || "" };
    case "cookies":
      return { statusCode: 200, cookies: ["a=1; Path=/", "b=2; HttpOnly"], headers: { "content-type": "text/plain" }, body: "cookies" };
  }
  return {
    statusCode: 200,
    headers: { "content-type": "application/json", "x-function": process.env.AWS_LAMBDA_FUNCTION_NAME },
    body: JSON.stringify(event),
  };
};
