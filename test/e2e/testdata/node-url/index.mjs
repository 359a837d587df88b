// Echoes the function URL event back, with a status, a header and a cookie, so a
// test can check both the event Lambda sends and how the response is written.
export const handler = async (event) => {
  if (event.rawPath === "/plain") {
    return { hello: "url" }; // no statusCode: Lambda infers a 200 JSON response
  }
  return {
    statusCode: 201,
    headers: { "x-fn": "yes", "content-type": "application/json" },
    cookies: ["session=abc; Path=/"],
    body: JSON.stringify(event),
  };
};
