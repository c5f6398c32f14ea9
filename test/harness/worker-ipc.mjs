// A forked worker's answer to the parent. process.send() only queues the message: a report of a few
// hundred KB is still being written to the IPC pipe when it returns, and a process.disconnect()
// before the write completes closes the pipe and drops the message (the parent then sees the worker
// exit 0 without answering). Awaiting the send callback makes the answer arrive before the worker
// disconnects or exits.
export function reply(message) {
  return new Promise((resolve, reject) => {
    process.send(message, (error) => (error ? reject(error) : resolve()));
  });
}
