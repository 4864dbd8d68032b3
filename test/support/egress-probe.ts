// The probe a tool process runs (`node -e <EGRESS_TOOL_PROBE> <port>`): it
// tries the egress forwarder's port and the test's target on 127.0.0.1 and
// prints what each gave. Shared by the probing agent and the test's Rules.
export const EGRESS_TOOL_PROBE = `
const { connect } = require('node:net');
const tryPort = (port) => new Promise((resolve) => {
  const socket = connect({ host: '127.0.0.1', port });
  const timer = setTimeout(() => { socket.destroy(); resolve('timeout'); }, 3000);
  socket.once('connect', () => { clearTimeout(timer); socket.destroy(); resolve('connected'); });
  socket.once('error', (error) => { clearTimeout(timer); resolve(error.code || 'error'); });
});
Promise.all([tryPort(3128), tryPort(Number(process.argv[1]))]).then(([proxy, target]) => console.log('proxy ' + proxy + ' target ' + target));
`.trim();
