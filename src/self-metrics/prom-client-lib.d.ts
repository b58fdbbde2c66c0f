// prom-client's own files, which its package types only through its index: each is a CommonJS
// module whose default import is its module.exports; src/self-metrics/prom-client.ts gives them
// their types.
declare module 'prom-client/lib/*' {
  const exported: unknown;
  export default exported;
}
