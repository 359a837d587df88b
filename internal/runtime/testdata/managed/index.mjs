let count = 0;

export const handler = async (event, context) => {
  count++;
  console.log("node got", event.op);
  if (event.op === "fail") {
    throw new TypeError("bad input");
  }
  return { runtime: "node", pid: process.pid, count, requestId: context.awsRequestId, env: process.env.AWS_EXECUTION_ENV };
};
