/** The version a runtime reports at enrollment, in node-session.json and as its MCP server's version. */
export const RUNTIME_VERSION = '0.1.0';
